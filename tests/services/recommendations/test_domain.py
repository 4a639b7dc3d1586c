"""Serving and offer rules as pure functions, on hand-checked inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from services.recommendations.domain import (
    OfferRule,
    filter_ranked,
    grant_offers,
    merge_ranked,
    offer_id,
    top_up,
)

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def test_filter_keeps_order_and_skips_excluded() -> None:
    ranked = [("a", 3.0), ("b", 2.0), ("c", 1.0), ("d", 0.5)]
    assert filter_ranked(ranked, exclude={"b"}, limit=2) == [("a", 3.0), ("c", 1.0)]
    assert filter_ranked(ranked, exclude=["a", "b", "c", "d"], limit=5) == []


def test_top_up_ranks_fallback_below_and_skips_duplicates() -> None:
    out = top_up([("a", 0.5)], [("a", 9.0), ("x", 8.0), ("y", 7.0), ("z", 6.0)], exclude={"y"}, limit=3)
    assert [i for i, _ in out] == ["a", "x", "z"]
    assert out[0][1] > out[1][1] > out[2][1]
    assert top_up([("a", 1.0), ("b", 0.9)], [("x", 1.0)], exclude=set(), limit=1) == [("a", 1.0)]


def test_merge_by_reciprocal_rank_after_exclusion() -> None:
    lists = [[("cart", 1.0), ("a", 0.9), ("b", 0.1)], [("b", 5.0), ("c", 4.0)]]
    # a: 1/2 (rank 1 once "cart" is removed); b: 1/3 + 1/2; c: 1/3
    assert merge_ranked(lists, exclude={"cart"}, limit=3) == [("b", 0.833333), ("a", 0.5), ("c", 0.333333)]
    assert merge_ranked([[("a", 1.0)], [("b", 1.0)]], exclude=(), limit=2) == [("a", 0.5), ("b", 0.5)]


def rule(**kw: object) -> OfferRule:
    base = dict(id="r1", name="Thanks", segment="loyal", kind="percent", percent=Decimal("7.5"),
                amount_minor=None, currency=None, min_subtotal_minor=0, valid_days=10,
                campaign_id="C1")
    return OfferRule(**{**base, **kw})  # type: ignore[arg-type]


def test_grants_follow_segments_rules_and_held_offers() -> None:
    rules = [rule(), rule(id="r2", segment="at_risk", kind="fixed", percent=None, amount_minor=300,
                          currency="EUR", campaign_id="C2"),
             rule(id="r3", active=False)]
    customers = [("u1", "loyal"), ("u2", "at_risk"), ("u3", "new"), ("u4", "loyal")]
    offers = grant_offers(rules=rules, customers=customers, held={"u4": {"r1"}}, now=NOW)
    assert [(o.user_id, o.rule_id, o.campaign_id) for o in offers] == [("u1", "r1", "C1"), ("u2", "r2", "C2")]
    assert offers[0].percent_bp == 750 and offers[0].amount_minor is None
    assert offers[1].percent_bp is None and offers[1].amount_minor == 300
    assert offers[0].ends_at - offers[0].starts_at == timedelta(days=10)


def test_offer_ids_are_stable_within_a_day() -> None:
    same_day = offer_id(rule_id="r1", user_id="u1", starts_at=NOW)
    assert same_day == offer_id(rule_id="r1", user_id="u1", starts_at=NOW + timedelta(hours=5))
    assert same_day != offer_id(rule_id="r1", user_id="u1", starts_at=NOW + timedelta(days=1))
    assert same_day != offer_id(rule_id="r1", user_id="u2", starts_at=NOW)
