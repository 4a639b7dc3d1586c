"""Great Expectations suites of the staging and mart tables, and the runner Dagster calls.

Suites are declared here as plain data (`SUITES`), so they read like a contract and cost
nothing to import; `validate()` imports Great Expectations (about 3 s) only when it runs. Each
validation goes through a GX checkpoint whose action rebuilds the data docs (static HTML under
`<gx_dir>/gx/uncommitted/data_docs/local_site/`), so a failure can be read there too.

Checks that need the database (referential integrity, row-count change against the previous
build) are resolved here to plain GX expectations: the parent keys become the value set, the
previous row count (from `meta.model_runs`) becomes the allowed range.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from services.payments.events import PAYMENT_METHODS
from warehouse.settings import WarehouseSettings

ORDER_STATUSES = ["placed", "paid", "delivered", "cancelled", "refunded", "partially_refunded"]
SEGMENTS = ["champions", "loyal", "new", "at_risk", "hibernating", "needs_attention"]
FRESHNESS = timedelta(days=2)
"""The lake must have received behaviour events within this long (the storefront never sleeps)."""
MAX_DROP = 0.10
"""A table may not lose more than this share of its rows between two builds."""

Spec = tuple[Any, ...]


def _events(*extra: Spec) -> list[Spec]:
    """Every staging table: one row per event id, and it never shrinks."""
    return [("not_null", "event_id"), ("unique", "event_id"), ("no_big_drop",), *extra]


SUITES: dict[str, list[Spec]] = {
    "staging.stg_page_views": _events(("not_null", "session_id"), ("not_null", "anonymous_id"),
                                      ("fresh", "ingested_at")),
    "staging.stg_product_views": _events(("not_null", "product_id"), ("not_null", "session_id")),
    "staging.stg_searches": _events(("between", "result_count", 0, None),
                                    ("between", "clicked_position", 1, None)),
    "staging.stg_add_to_cart": _events(("between", "quantity", 1, None),
                                       ("between", "unit_price_minor", 0, None)),
    "staging.stg_orders": _events(("not_null", "order_id"), ("unique", "order_id"),
                                  ("between", "total_minor", 0, None),
                                  ("regex", "currency", r"^[A-Z]{3}$")),
    "staging.stg_order_lines": [  # one row per line, so event ids repeat here
        ("compound_unique", ["order_id", "line_no"]), ("between", "quantity", 1, None),
        ("not_null", "product_id"), ("no_big_drop",)],
    "staging.stg_order_status_events": _events(
        ("in_set", "status", ["paid", "cancelled", "refunded", "delivered"]),
        ("not_null", "order_id")),
    "staging.stg_payments": _events(("in_set", "method", list(PAYMENT_METHODS)),
                                    ("in_set", "status", ["captured", "failed", "refunded"])),
    "staging.stg_cart_events": _events(
        ("in_set", "kind", ["item_added", "checked_out", "promo_code_applied", "abandoned"])),
    "staging.stg_catalog_events": _events(("in_set", "change", ["created", "updated", "deleted"]),
                                          ("not_null", "product_id")),
    "staging.stg_user_registrations": _events(("not_null", "user_id")),
    "marts.orders": [
        ("not_null", "order_id"), ("unique", "order_id"), ("in_set", "status", ORDER_STATUSES),
        ("between", "total_minor", 0, None), ("between", "net_revenue_minor", 0, None),
        ("in_set", "payment_method", list(PAYMENT_METHODS)),
        ("no_big_drop",)],
    "marts.order_items": [
        ("compound_unique", ["order_id", "line_no"]),
        ("references", "order_id", "marts.orders", "order_id"),
        ("references", "product_id", "marts.products", "product_id"),
        ("between", "quantity", 1, None), ("between", "line_total_minor", 0, None),
        ("no_big_drop",)],
    "marts.products": [("not_null", "product_id"), ("unique", "product_id"),
                       ("between", "price_minor", 0, None), ("no_big_drop",)],
    "marts.customers": [("not_null", "user_id"), ("unique", "user_id"),
                        ("between", "orders", 0, None), ("between", "revenue_minor", 0, None)],
    "marts.sessions": [("not_null", "session_id"), ("unique", "session_id"),
                       ("between", "duration_seconds", 0, 86_400), ("no_big_drop",)],
    "marts.funnel": [
        ("unique", "session_date"), ("a_ge_b", "sessions", "viewed_product"),
        ("a_ge_b", "viewed_product", "added_to_cart"), ("a_ge_b", "added_to_cart", "checked_out"),
        ("a_ge_b", "checked_out", "paid"), ("between", "conversion_rate", 0, 1)],
    "marts.daily_sales": [
        ("compound_unique", ["order_date", "currency"]), ("a_ge_b", "orders_placed", "orders_paid"),
        ("between", "net_revenue_minor", 0, None), ("between", "gross_revenue_minor", 0, None)],
    "marts.product_daily": [("compound_unique", ["product_id", "day"])],
    "marts.product_popularity": [("unique", "product_id"), ("unique", "popularity_rank"),
                                 ("between", "popularity_score", 0, None)],
    "marts.product_trends": [("unique", "product_id"), ("between", "growth", 0, None)],
    "marts.search_queries": [("unique", "query"), ("between", "click_through_rate", 0, 1),
                             ("between", "zero_result_rate", 0, 1)],
    "marts.campaign_performance": [("unique", "campaign_id"), ("not_null", "campaign_id"),
                                   ("between", "conversion_rate", 0, 1)],
    "marts.discount_effectiveness": [("row_count", 2, 2), ("unique", "has_promo")],
    "marts.cohort_retention": [("compound_unique", ["cohort_month", "months_since_first"]),
                               ("between", "retention_rate", 0, 1),
                               ("between", "months_since_first", 0, None)],
    "marts.rfm_segments": [("unique", "user_id"),
                           ("references", "user_id", "marts.customers", "user_id"),
                           ("between", "r_score", 1, 5),
                           ("between", "f_score", 1, 5), ("between", "m_score", 1, 5),
                           ("in_set", "segment", SEGMENTS)],
}


@dataclass
class QualityResult:
    table: str
    success: bool
    failures: list[str] = field(default_factory=list)
    """One readable line per failed expectation: what, on which column, examples."""
    evaluated: int = 0
    row_count: int = 0
    docs_index: Path | None = None


def previous_row_count(con: duckdb.DuckDBPyConnection, table: str) -> int | None:
    """Row count of the build before the latest one (None on the first build)."""
    rows = con.execute(
        "SELECT row_count FROM meta.model_runs WHERE model = ? ORDER BY finished_at DESC "
        "LIMIT 2",
        [table],
    ).fetchall()
    return int(rows[1][0]) if len(rows) == 2 else None


def _columns(specs: list[Spec]) -> list[str]:
    cols: list[str] = []
    for spec in specs:
        kind = spec[0]
        if kind in ("not_null", "unique", "in_set", "between", "regex", "fresh", "references"):
            cols.append(spec[1])
        elif kind == "compound_unique":
            cols.extend(spec[1])
        elif kind == "a_ge_b":
            cols.extend(spec[1:3])
    return list(dict.fromkeys(cols))


def _expectations(con: duckdb.DuckDBPyConnection, table: str, specs: list[Spec],
                  now: datetime) -> list[Any]:
    import great_expectations.expectations as gxe

    out = []
    for spec in specs:
        kind, args = spec[0], spec[1:]
        if kind == "not_null":
            out.append(gxe.ExpectColumnValuesToNotBeNull(column=args[0]))
        elif kind == "unique":
            out.append(gxe.ExpectColumnValuesToBeUnique(column=args[0]))
        elif kind == "compound_unique":
            out.append(gxe.ExpectCompoundColumnsToBeUnique(column_list=args[0]))
        elif kind == "in_set":
            out.append(gxe.ExpectColumnValuesToBeInSet(column=args[0], value_set=args[1]))
        elif kind == "between":
            out.append(gxe.ExpectColumnValuesToBeBetween(
                column=args[0], min_value=args[1], max_value=args[2]))
        elif kind == "regex":
            out.append(gxe.ExpectColumnValuesToMatchRegex(column=args[0], regex=args[1]))
        elif kind == "a_ge_b":
            out.append(gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=args[0], column_B=args[1], or_equal=True))
        elif kind == "row_count":
            out.append(gxe.ExpectTableRowCountToBeBetween(min_value=args[0], max_value=args[1]))
        elif kind == "fresh":
            out.append(gxe.ExpectColumnMaxToBeBetween(
                column=args[0], min_value=(now - FRESHNESS).replace(tzinfo=None)))
        elif kind == "references":
            column, parent, key = args
            keys = [r[0] for r in con.execute(f"SELECT DISTINCT {key} FROM {parent}").fetchall()]
            out.append(gxe.ExpectColumnValuesToBeInSet(column=column, value_set=keys,
                                                       meta={"references": f"{parent}.{key}"}))
        elif kind == "no_big_drop":
            before = previous_row_count(con, table)
            if before is not None:
                out.append(gxe.ExpectTableRowCountToBeBetween(
                    min_value=int(before * (1 - MAX_DROP)), max_value=None,
                    meta={"previous_row_count": before}))
        else:
            raise ValueError(f"unknown expectation kind {kind!r} in suite of {table}")
    return out


def _context(gx_dir: Path) -> Any:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx

    gx_dir.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(gx_dir))
    context.variables.progress_bars = {"globally": False}
    return context


def validate(
    con: duckdb.DuckDBPyConnection,
    table: str,
    *,
    gx_dir: Path | None = None,
    now: datetime | None = None,
) -> QualityResult:
    """Run the suite of `table` (`layer.name`) on its current rows; rebuilds the data docs."""
    import great_expectations as gx

    specs = SUITES[table]
    gx_dir = Path(gx_dir or WarehouseSettings().gx_dir)
    context = _context(gx_dir)
    now = now or datetime.now(UTC)
    columns = _columns(specs) or ["*"]
    select = ", ".join(f'"{c}"' if c != "*" else c for c in columns)
    frame = con.sql(f"SELECT {select} FROM {table}").df()
    name = table.replace(".", "__")

    source = context.data_sources.add_or_update_pandas("warehouse")
    try:
        asset = source.get_asset(name)
    except LookupError:
        asset = source.add_dataframe_asset(name)
    try:
        batch = asset.get_batch_definition("whole")
    except (KeyError, LookupError):
        batch = asset.add_batch_definition_whole_dataframe("whole")
    suite = gx.ExpectationSuite(name=name)
    for expectation in _expectations(con, table, specs, now):
        suite.add_expectation(expectation)
    suite = context.suites.add_or_update(suite)
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=name, data=batch, suite=suite))
    checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
        name=name, validation_definitions=[definition], result_format="SUMMARY",
        actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs")]))
    result = checkpoint.run(batch_parameters={"dataframe": frame})

    failures, evaluated = [], 0
    for run in result.run_results.values():
        for item in run.results:
            evaluated += 1
            if item.success:
                continue
            config = item.expectation_config
            kwargs = {k: v for k, v in config.kwargs.items() if k not in ("batch_id", "value_set")}
            examples = item.result.get("partial_unexpected_list") or item.result.get(
                "observed_value")
            failures.append(f"{config.type} {kwargs} failed: unexpected "
                            f"{item.result.get('unexpected_count', '')} e.g. {examples}")
    docs = gx_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    return QualityResult(table, bool(result.success), failures, evaluated, len(frame),
                         docs if docs.exists() else None)
