"""`product_popularity_signal`: the popularity the search index ranks and sorts by."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS
from pipelines.resources import RecommendationsResource, WarehouseResource


@dg.asset(group_name="recommendations", deps=["product_popularity"], kinds={"duckdb", "parquet"},
          op_tags=WAREHOUSE_TAGS)
def product_popularity_signal(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                              reco: RecommendationsResource) -> dg.MaterializeResult:
    """`product_id, popularity` (the mart's 30-day score: views + 3 x add-to-carts + 10 x units,
    the recommenders' weights) as Parquet, for the search document builder's `popularity`
    field; replaced atomically so the indexer never reads half a file."""
    path = reco.path("popularity_signal.parquet")
    tmp = path.with_suffix(".tmp")
    with warehouse.builder().connect() as con:
        con.execute(f"""COPY (SELECT product_id, CAST(popularity_score AS DOUBLE) AS popularity,
                                     popularity_rank
                              FROM marts.product_popularity ORDER BY popularity_rank)
                        TO '{tmp}' (FORMAT parquet)""")
        rows = con.sql(f"SELECT count(*) FROM read_parquet('{tmp}')").fetchall()[0][0]
    tmp.replace(path)
    context.log.info(f"{rows} products -> {path}")
    return dg.MaterializeResult(metadata={"dagster/row_count": rows,
                                          "path": dg.MetadataValue.path(str(path))})
