"""Every mart against numbers computed by hand from the story in conftest.py."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from warehouse.build import Warehouse
from warehouse.lake import LakeWriter
from warehouse.reader import WarehouseReader


@pytest.fixture(scope="module")
def marts(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest,
          shared_history):
    """Write the history (late batch last), build once, read the published snapshot."""
    root: Path = tmp_path_factory.mktemp("marts")
    main, late = shared_history
    writer = LakeWriter(root / "lake")
    writer.add(main)
    writer.flush()
    writer.add(late)
    writer.flush()
    Warehouse(root / "warehouse", root / "lake").refresh()
    reader = WarehouseReader(root / "warehouse")
    request.addfinalizer(reader.close)

    def rows(sql: str) -> list[dict]:
        return reader.query(sql).to_dicts()

    return rows


def by(rows: list[dict], key: str) -> dict:
    return {r[key]: r for r in rows}


def test_orders(marts) -> None:
    o = by(marts("SELECT * FROM marts.orders"), "order_id")
    assert sorted(o) == ["O1", "O2", "O3", "O4", "O5"]
    assert {k: v["status"] for k, v in o.items()} == {
        "O1": "delivered", "O2": "partially_refunded", "O3": "delivered",
        "O4": "cancelled", "O5": "paid",
    }
    assert {k: v["net_revenue_minor"] for k, v in o.items()} == {
        "O1": 12500, "O2": 5000, "O3": 3800, "O4": 0, "O5": 10000,
    }
    assert {k: v["item_count"] for k, v in o.items()} == {
        "O1": 3, "O2": 1, "O3": 2, "O4": 1, "O5": 2,
    }
    assert {k: v["payment_method"] for k, v in o.items()} == {
        "O1": "card", "O2": "paypal", "O3": "card", "O4": None, "O5": "bank_transfer",
    }
    assert o["O2"]["refunded_minor"] == 3000
    assert o["O3"]["has_promo"] and not o["O1"]["has_promo"]
    assert o["O3"]["discount_minor"] == 200 and o["O1"]["shipping_minor"] == 500
    assert o["O5"]["session_id"] is None and o["O5"]["is_paid"]
    assert not o["O4"]["is_paid"] and o["O4"]["order_date"] == date(2024, 2, 10)


def test_order_items(marts) -> None:
    items = marts("SELECT order_id, line_no, product_id, line_total_minor, is_paid "
                  "FROM marts.order_items ORDER BY order_id, line_no")
    assert [(r["order_id"], r["line_no"], r["product_id"], r["line_total_minor"], r["is_paid"])
            for r in items] == [
        ("O1", 1, "P1", 10000, True), ("O1", 2, "P2", 2000, True), ("O2", 1, "P3", 8000, True),
        ("O3", 1, "P2", 3800, True), ("O4", 1, "P1", 4500, False), ("O5", 1, "P3", 8000, True),
        ("O5", 2, "P2", 2000, True),
    ]


def test_products(marts) -> None:
    p = by(marts("SELECT * FROM marts.products"), "product_id")
    assert {k: v["price_minor"] for k, v in p.items()} == {
        "P1": 4500, "P2": 2000, "P3": 8000, "P4": 3000,
    }
    assert {k for k, v in p.items() if v["is_deleted"]} == {"P4"}
    assert p["P1"]["category"] == "Home" and p["P1"]["category_path"] == "Home > Kitchen"
    assert p["P1"]["updated_at"] == datetime(2024, 1, 10, 9, 0)


def test_customers(marts) -> None:
    c = by(marts("SELECT * FROM marts.customers"), "user_id")
    assert sorted(c) == ["U1", "U2", "U3", "U4"]
    got = {k: (v["orders_placed"], v["orders"], v["revenue_minor"], v["avg_order_value_minor"],
               v["is_repeat"]) for k, v in c.items()}
    assert got == {
        "U1": (2, 1, 12500, 12500, False),
        "U2": (1, 1, 5000, 8000, False),
        "U3": (2, 2, 13800, 6900, True),
        "U4": (0, 0, 0, None, False),
    }
    assert c["U3"]["cohort_month"] == date(2024, 1, 1) and c["U4"]["cohort_month"] is None
    assert c["U3"]["last_order_at"] == datetime(2024, 2, 11, 10, 0)


def test_sessions_and_identity_stitching(marts) -> None:
    s = by(marts("SELECT * FROM marts.sessions"), "session_id")
    assert sorted(s) == ["A1", "A2", "B1", "B2", "C1", "E1"]
    assert {k: (v["user_id"], v["is_stitched"]) for k, v in s.items()} == {
        "A1": ("U1", False), "A2": ("U1", False), "B1": ("U2", True), "B2": ("U2", False),
        "C1": ("U3", False), "E1": (None, False),
    }
    counts = {k: (v["page_views"], v["product_views"], v["searches"], v["add_to_carts"],
                  v["orders_placed"], v["orders_paid"], v["revenue_minor"]) for k, v in s.items()}
    assert counts == {
        "A1": (1, 1, 1, 1, 1, 1, 12500), "B1": (1, 1, 2, 0, 0, 0, 0),
        "B2": (1, 1, 0, 1, 1, 1, 5000), "C1": (1, 1, 0, 1, 1, 1, 3800),
        "A2": (1, 1, 1, 1, 1, 0, 0), "E1": (1, 1, 0, 1, 0, 0, 0),
    }
    assert s["A1"]["duration_seconds"] == 180 and s["B2"]["duration_seconds"] == 120
    assert {k: v["campaign_id"] for k, v in s.items() if v["campaign_id"]} == {
        "A1": "C1", "C1": "C2", "E1": "C1",
    }
    assert [k for k, v in s.items() if v["promo_applied"]] == ["C1"]


def test_funnel(marts) -> None:
    f = by(marts("SELECT * FROM marts.funnel"), "session_date")
    steps = {k: (v["sessions"], v["viewed_product"], v["added_to_cart"], v["checked_out"],
                 v["paid"]) for k, v in f.items()}
    assert steps == {
        date(2024, 1, 5): (2, 2, 1, 1, 1),
        date(2024, 1, 6): (2, 2, 2, 2, 2),
        date(2024, 2, 10): (2, 2, 2, 1, 0),
    }
    jan5, feb10 = f[date(2024, 1, 5)], f[date(2024, 2, 10)]
    assert (jan5["view_to_cart_rate"], jan5["conversion_rate"]) == (0.5, 0.5)
    assert (feb10["cart_to_checkout_rate"], feb10["checkout_to_paid_rate"]) == (0.5, 0.0)


def test_daily_sales(marts) -> None:
    d = by(marts("SELECT * FROM marts.daily_sales"), "order_date")
    got = {k: (v["orders_placed"], v["orders_paid"], v["orders_cancelled"], v["items_sold"],
               v["gross_revenue_minor"], v["discount_minor"], v["refunded_minor"],
               v["net_revenue_minor"], v["aov_minor"], v["customers"], v["new_customers"])
           for k, v in d.items()}
    assert got == {
        date(2024, 1, 5): (1, 1, 0, 3, 12500, 0, 0, 12500, 12500, 1, 1),
        date(2024, 1, 6): (2, 2, 0, 3, 11800, 200, 3000, 8800, 5900, 2, 2),
        date(2024, 2, 10): (1, 0, 1, 0, 0, 0, 0, 0, None, 0, 0),
        date(2024, 2, 11): (1, 1, 0, 2, 10000, 0, 0, 10000, 10000, 1, 0),
    }
    assert {v["currency"] for v in d.values()} == {"EUR"}


def test_product_daily(marts) -> None:
    rows = marts("SELECT * FROM marts.product_daily")
    got = {(r["product_id"], r["day"]): (r["views"], r["add_to_carts"], r["units_sold"],
                                         r["orders"], r["revenue_minor"]) for r in rows}
    assert got == {
        ("P1", date(2024, 1, 5)): (1, 1, 2, 1, 10000),
        ("P2", date(2024, 1, 5)): (0, 0, 1, 1, 2000),
        ("P3", date(2024, 1, 5)): (1, 0, 0, 0, 0),
        ("P2", date(2024, 1, 6)): (1, 1, 2, 1, 3800),
        ("P3", date(2024, 1, 6)): (1, 1, 1, 1, 8000),
        ("P1", date(2024, 2, 10)): (1, 1, 0, 0, 0),
        ("P2", date(2024, 2, 10)): (1, 1, 0, 0, 0),
        ("P2", date(2024, 2, 11)): (0, 0, 1, 1, 2000),
        ("P3", date(2024, 2, 11)): (0, 0, 1, 1, 8000),
    }


def test_product_popularity(marts) -> None:
    p = by(marts("SELECT * FROM marts.product_popularity"), "product_id")
    assert sorted(p) == ["P1", "P2", "P3"]  # P4 is deleted
    assert {k: (v["popularity_score"], v["popularity_rank"], v["category_rank"])
            for k, v in p.items()} == {"P2": (14, 1, 1), "P3": (10, 2, 1), "P1": (4, 3, 2)}
    assert {k: (v["views_all_time"], v["units_sold_all_time"], v["revenue_all_time_minor"])
            for k, v in p.items()} == {
        "P1": (2, 2, 10000), "P2": (2, 4, 7800), "P3": (2, 2, 16000),
    }


def test_product_trends(marts) -> None:
    t = by(marts("SELECT * FROM marts.product_trends"), "product_id")
    assert {k: (v["recent_score"], v["prior_score"], v["growth"], v["is_rising"], v["trend_rank"])
            for k, v in t.items()} == {
        "P2": (14, 0, 15.0, True, 1), "P3": (10, 0, 11.0, True, 2), "P1": (4, 0, 5.0, False, 3),
    }


def test_search_queries(marts) -> None:
    q = by(marts("SELECT * FROM marts.search_queries"), "query")
    assert sorted(q) == ["knife", "red shoes"]
    knife, red = q["knife"], q["red shoes"]
    assert (knife["searches"], knife["sessions"], knife["clicks"], knife["click_through_rate"],
            knife["avg_clicked_position"], knife["is_zero_result_query"]) == (2, 2, 1, 0.5, 2.0,
                                                                            False)
    assert (red["searches"], red["sessions"], red["zero_result_searches"],
            red["zero_result_rate"], red["is_zero_result_query"], red["clicks"]) == (
        2, 1, 2, 1.0, True, 0)
    assert (knife["search_rank"], red["search_rank"]) == (1, 2)


def test_campaign_performance(marts) -> None:
    c = by(marts("SELECT * FROM marts.campaign_performance"), "campaign_id")
    assert sorted(c) == ["C1", "C2"]
    got = {k: (v["redemptions"], v["abandoned_carts"], v["orders_paid"], v["revenue_minor"],
               v["discount_minor"], v["aov_minor"], v["sessions"], v["converted_sessions"],
               v["conversion_rate"]) for k, v in c.items()}
    assert got == {
        "C1": (0, 1, 1, 12500, 0, 12500, 2, 1, 0.5),
        "C2": (1, 0, 1, 3800, 200, 3800, 1, 1, 1.0),
    }
    # baseline: paid orders without campaign O2, O5 -> AOV 9000; sessions without campaign
    # B1, B2, A2 -> 1 of 3 converted
    assert c["C1"]["baseline_aov_minor"] == 9000
    assert c["C1"]["baseline_conversion_rate"] == 0.3333
    assert (c["C1"]["aov_uplift"], c["C1"]["conversion_uplift"]) == (0.3889, 0.5)
    assert (c["C2"]["aov_uplift"], c["C2"]["conversion_uplift"]) == (-0.5778, 2.0)


def test_discount_effectiveness(marts) -> None:
    d = by(marts("SELECT * FROM marts.discount_effectiveness"), "has_promo")
    got = {k: (v["orders_placed"], v["orders_paid"], v["revenue_minor"], v["discount_minor"],
               v["aov_minor"], v["items_per_order"], v["sessions"], v["converted_sessions"],
               v["conversion_rate"]) for k, v in d.items()}
    assert got == {
        True: (1, 1, 3800, 200, 3800, 2.0, 1, 1, 1.0),
        False: (4, 3, 27500, 0, 10167, 2.0, 5, 2, 0.4),
    }


def test_cohort_retention(marts) -> None:
    rows = marts("SELECT * FROM marts.cohort_retention")
    assert [(r["cohort_month"], r["months_since_first"], r["cohort_size"], r["active_customers"],
             r["retention_rate"], r["revenue_minor"]) for r in rows] == [
        (date(2024, 1, 1), 0, 3, 3, 1.0, 21300),
        (date(2024, 1, 1), 1, 3, 1, 0.3333, 10000),
    ]


def test_rfm_segments(marts) -> None:
    r = by(marts("SELECT * FROM marts.rfm_segments"), "user_id")
    assert {k: (v["recency_days"], v["frequency"], v["monetary_minor"], v["rfm_cell"],
                v["segment"]) for k, v in r.items()} == {
        "U1": (38, 1, 12500, 113, "hibernating"),
        "U2": (37, 1, 5000, 311, "needs_attention"),
        "U3": (1, 2, 13800, 555, "champions"),
    }
