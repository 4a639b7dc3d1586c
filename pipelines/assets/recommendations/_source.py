"""What the recommendation assets read from the warehouse's working database.

The assets need staging tables (views, add-to-carts) that the published snapshot does not hold,
so they read the working DuckDB file, like every other warehouse step (one writer at a time:
their ops carry the warehouse tag). Each function is one query over an open connection.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

INTERACTIONS_SQL = """
WITH stitched AS (
    SELECT session_id, user_id FROM marts.sessions WHERE user_id IS NOT NULL
),
sellable AS (
    SELECT product_id FROM marts.products WHERE NOT is_deleted
),
events AS (
    SELECT coalesce(v.user_id, s.user_id) AS user_id, v.product_id AS item_id,
           'view' AS event_type, v.occurred_at AS "timestamp", CAST(NULL AS DOUBLE) AS value
    FROM staging.stg_product_views AS v LEFT JOIN stitched AS s USING (session_id)
    UNION ALL
    SELECT coalesce(a.user_id, s.user_id), a.product_id, 'add_to_cart', a.occurred_at, NULL
    FROM staging.stg_add_to_cart AS a LEFT JOIN stitched AS s USING (session_id)
    UNION ALL
    SELECT i.user_id, i.product_id, 'purchase', o.placed_at, NULL
    FROM marts.order_items AS i JOIN marts.orders AS o USING (order_id)
    WHERE i.status <> 'cancelled'
    UNION ALL
    SELECT user_id, product_id, 'rating', occurred_at, CAST(rating AS DOUBLE)
    FROM ratings
)
SELECT user_id, item_id, event_type, "timestamp", value
FROM events
WHERE user_id IS NOT NULL AND item_id IN (SELECT product_id FROM sellable)
ORDER BY "timestamp", user_id, item_id, event_type
"""

RATINGS_SQL = """
SELECT user_id, product_id, arg_max(rating, occurred_at) AS rating,
       max(occurred_at) AT TIME ZONE 'UTC' AS occurred_at
FROM (SELECT review_id, user_id, product_id, rating, occurred_at FROM raw.review_submitted
      UNION ALL
      SELECT review_id, user_id, product_id, rating, occurred_at FROM raw.review_updated)
WHERE review_id NOT IN (SELECT review_id FROM raw.review_deleted)
GROUP BY user_id, product_id
"""

NO_RATINGS_SQL = """
SELECT CAST(NULL AS VARCHAR) AS user_id, CAST(NULL AS VARCHAR) AS product_id,
       CAST(NULL AS BIGINT) AS rating, CAST(NULL AS TIMESTAMP) AS occurred_at WHERE false
"""


def interactions(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Views and add-to-carts (anonymous sessions stitched to their shopper), purchases of
    orders not cancelled, and star ratings of reviews not deleted; sellable products only."""
    try:
        con.execute(f"CREATE OR REPLACE TEMP VIEW ratings AS {RATINGS_SQL}")
        con.execute("SELECT count(*) FROM ratings").fetchall()
    except duckdb.Error:  # no review events in this lake (raw views not created yet)
        con.execute(f"CREATE OR REPLACE TEMP VIEW ratings AS {NO_RATINGS_SQL}")
    return con.sql(INTERACTIONS_SQL).pl()


def write_interactions(con: duckdb.DuckDBPyConnection, path: Path, weights: object) -> pl.DataFrame:
    """Query the interactions, add their `weight` (a `models.data.WeightConfig`) and replace the
    Parquet file atomically; returns the rows (shared by the asset and `shop reco interactions`)."""
    from models.data import interaction_weights

    frame = interactions(con)
    weighted = interaction_weights(frame, weights) if frame.height else frame  # type: ignore[arg-type]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    weighted.write_parquet(tmp)
    tmp.replace(path)
    return frame


def catalogue(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every product ever announced: id, sku, title, brand, category, deleted flag."""
    return con.sql("""SELECT product_id, sku, title, brand, category, category_path, is_deleted
                      FROM marts.products ORDER BY product_id""").pl()


def bought_together(con: duckdb.DuckDBPyConnection, *, per_item: int) -> pl.DataFrame:
    """For each item, the items most often in the same (not cancelled) order: count of orders."""
    return con.sql(f"""
        WITH lines AS (
            SELECT DISTINCT order_id, product_id FROM marts.order_items WHERE status <> 'cancelled'
        )
        SELECT a.product_id AS item_id, b.product_id AS other_id, count(*) AS orders
        FROM lines AS a JOIN lines AS b ON a.order_id = b.order_id AND a.product_id <> b.product_id
        GROUP BY a.product_id, b.product_id
        QUALIFY row_number() OVER (PARTITION BY a.product_id ORDER BY count(*) DESC, b.product_id)
                <= {int(per_item)}
        ORDER BY item_id, orders DESC, other_id""").pl()


def bought(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Items each customer bought (orders not cancelled): never recommended to them again."""
    return con.sql("""SELECT user_id, list(DISTINCT product_id ORDER BY product_id) AS items
                      FROM marts.order_items WHERE status <> 'cancelled' AND user_id IS NOT NULL
                      GROUP BY user_id""").pl()


def popularity(con: duckdb.DuckDBPyConnection, *, top: int) -> pl.DataFrame:
    """The popularity mart's ranking (30-day weighted score), best first, with categories."""
    return con.sql(f"""SELECT product_id, category, popularity_score, popularity_rank, category_rank
                       FROM marts.product_popularity
                       WHERE popularity_rank <= {int(top)} OR category_rank <= {int(top)}
                       ORDER BY popularity_rank""").pl()


def segments(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return [(u, s) for u, s in con.sql("SELECT user_id, segment FROM marts.rfm_segments").fetchall()]
