"""Report queries over the published warehouse marts (read-only DuckDB snapshot).

Each report is one parameterised query; filters are bound parameters, never string-built SQL.
Money stays in integer minor units; rates are fractions in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from warehouse.reader import WarehouseReader

GRAINS = {"day": "day", "week": "week", "month": "month"}


@dataclass(frozen=True)
class Filters:
    start: date | None = None
    end: date | None = None
    category: str | None = None
    grain: str = "day"
    limit: int = 100


def _between(column: str, f: Filters, args: list) -> str:
    clauses = []
    if f.start:
        clauses.append(f"{column} >= ?")
        args.append(f.start)
    if f.end:
        clauses.append(f"{column} <= ?")
        args.append(f.end)
    return " AND ".join(clauses) or "TRUE"


def sales(f: Filters) -> tuple[str, list]:
    args: list = []
    bucket = f"CAST(date_trunc('{GRAINS[f.grain]}', order_date) AS DATE)"
    if f.category is None:
        where = _between("order_date", f, args)
        sql = f"""
            SELECT {bucket} AS period, currency, sum(orders_placed) AS orders_placed,
                   sum(orders_paid) AS orders_paid, sum(items_sold) AS items_sold,
                   sum(gross_revenue_minor) AS gross_revenue_minor,
                   sum(discount_minor) AS discount_minor, sum(refunded_minor) AS refunded_minor,
                   sum(net_revenue_minor) AS net_revenue_minor,
                   CAST(round(sum(gross_revenue_minor) / nullif(sum(orders_paid), 0)) AS BIGINT)
                       AS aov_minor
            FROM marts.daily_sales WHERE {where}
            GROUP BY ALL ORDER BY period, currency"""
        return sql, args
    where = _between("order_date", f, args)
    args.append(f.category)
    sql = f"""
        SELECT {bucket} AS period, currency, count(DISTINCT order_id) AS orders_paid,
               sum(quantity) AS items_sold, sum(line_total_minor) AS revenue_minor,
               sum(discount_minor) AS discount_minor
        FROM marts.order_items WHERE is_paid AND {where} AND category = ?
        GROUP BY ALL ORDER BY period, currency"""
    return sql, args


def _by_category(table: str, order: str, f: Filters, extra: str = "TRUE") -> tuple[str, list]:
    args: list = []
    where = extra
    if f.category:
        where += " AND category = ?"
        args.append(f.category)
    args.append(f.limit)
    return f"SELECT * FROM marts.{table} WHERE {where} ORDER BY {order} LIMIT ?", args


def top_products(f: Filters) -> tuple[str, list]:
    return _by_category("product_popularity", "popularity_rank", f)


def trending(f: Filters) -> tuple[str, list]:
    return _by_category("product_trends", "trend_rank", f, "is_rising")


def funnel(f: Filters) -> tuple[str, list]:
    args: list = []
    where = _between("session_date", f, args)
    return f"SELECT * FROM marts.funnel WHERE {where} ORDER BY session_date", args


def search(f: Filters) -> tuple[str, list]:
    args: list = []
    where = _between("CAST(last_searched_at AS DATE)", f, args)
    args.append(f.limit)
    return f"SELECT * FROM marts.search_queries WHERE {where} ORDER BY search_rank LIMIT ?", args


def zero_result_searches(f: Filters) -> tuple[str, list]:
    args: list = []
    where = _between("CAST(last_searched_at AS DATE)", f, args)
    args.append(f.limit)
    sql = f"""SELECT query, searches, sessions, last_searched_at FROM marts.search_queries
              WHERE is_zero_result_query AND {where} ORDER BY searches DESC, query LIMIT ?"""
    return sql, args


def campaigns(f: Filters) -> tuple[str, list]:
    return "SELECT * FROM marts.campaign_performance ORDER BY revenue_minor DESC, campaign_id", []


def discounts(f: Filters) -> tuple[str, list]:
    return "SELECT * FROM marts.discount_effectiveness ORDER BY has_promo", []


def cohorts(f: Filters) -> tuple[str, list]:
    args: list = []
    where = _between("cohort_month", f, args)
    return (f"SELECT * FROM marts.cohort_retention WHERE {where} "
            "ORDER BY cohort_month, months_since_first"), args


def rfm(f: Filters) -> tuple[str, list]:
    return """SELECT segment, count(*) AS customers, CAST(avg(recency_days) AS DOUBLE) AS avg_recency_days,
                     CAST(avg(frequency) AS DOUBLE) AS avg_frequency,
                     CAST(round(avg(monetary_minor)) AS BIGINT) AS avg_monetary_minor,
                     sum(monetary_minor) AS monetary_minor
              FROM marts.rfm_segments GROUP BY segment ORDER BY monetary_minor DESC""", []


REPORTS = {
    "sales": sales, "top-products": top_products, "trending": trending, "funnel": funnel,
    "search": search, "zero-result-searches": zero_result_searches, "campaigns": campaigns,
    "discounts": discounts, "cohorts": cohorts, "rfm": rfm,
}


def run_report(reader: WarehouseReader, name: str, f: Filters, max_rows: int) -> pl.DataFrame:
    sql, args = REPORTS[name](f)
    frame = reader.cursor().sql(sql, params=args or None).pl().head(max_rows)
    return frame.with_columns(_json_friendly(frame))


def _json_friendly(frame: pl.DataFrame) -> list[pl.Expr]:
    """DuckDB sums are HUGEINT/DECIMAL; money and counts fit int64, and JSON wants numbers."""
    out = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Int128 or (isinstance(dtype, pl.Decimal) and (dtype.scale or 0) == 0):
            out.append(pl.col(name).cast(pl.Int64))
        elif isinstance(dtype, pl.Decimal):
            out.append(pl.col(name).cast(pl.Float64))
    return out
