"""The pricing engine: hand-computed cases for every promotion kind and rule, plus property tests
(totals never negative, no cent lost or invented, a discount never exceeds its line)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.cart.domain import (
    BP,
    CartRuleError,
    Kind,
    Line,
    Promotion,
    Scope,
    Usage,
    allocate,
    cap_quantity,
    check_code,
    merge_quantities,
    percent_of,
    price_cart,
)

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
MUG = Line("p-mug", "MUG-1", 2, 999, ("home", "kitchen"))
KNIFE = Line("p-knife", "KNF-1", 1, 4500, ("home", "kitchen", "knives"))
SHIRT = Line("p-shirt", "SHR-1", 3, 1500, ("fashion",))


def quote(lines, promos, **kw):  # type: ignore[no-untyped-def]
    kw.setdefault("now", NOW)
    kw.setdefault("currency", "EUR")
    return price_cart(lines=lines, promotions=promos, **kw)


def pct(id_: str, percent: int, **kw) -> Promotion:  # type: ignore[no-untyped-def]
    return Promotion(id_, f"{percent}% off", Kind.PERCENT, percent_bp=percent * 100, **kw)


# --- arithmetic ----------------------------------------------------------------------------
def test_percent_rounds_half_up_to_the_minor_unit() -> None:
    assert percent_of(999, 1000) == 100  # 99.9 -> 100
    assert percent_of(25, 1000) == 3  # 2.5 -> 3
    assert percent_of(24, 1000) == 2
    assert percent_of(0, 5000) == 0
    assert percent_of(1234, BP) == 1234


def test_allocate_by_largest_remainder() -> None:
    assert allocate(100, [100, 100, 100]) == [34, 33, 33]  # ties go to the earlier line
    assert allocate(10, [5, 3, 2]) == [5, 3, 2]
    assert allocate(7, [100, 200, 700]) == [1, 1, 5]  # exact 0.7 1.4 4.9 -> remainders pick 1st
    assert allocate(0, [5, 5]) == [0, 0]
    assert allocate(3, [0, 0, 9]) == [0, 0, 3]
    with pytest.raises(ValueError):
        allocate(11, [5, 5])


@given(st.lists(st.integers(0, 10**7), min_size=1, max_size=30), st.data())
def test_allocate_properties(weights: list[int], data: st.DataObject) -> None:
    total = data.draw(st.integers(0, sum(weights)))
    parts = allocate(total, weights)
    assert sum(parts) == total
    whole = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        assert 0 <= part <= weight
        if whole:
            assert abs(part * whole - total * weight) < whole  # within one unit of the exact share


# --- kinds and scopes ----------------------------------------------------------------------
def test_no_promotions_is_the_plain_sum() -> None:
    q = quote([MUG, KNIFE], [], shipping_minor=499)
    assert (q.subtotal_minor, q.discount_minor, q.total_minor) == (6498, 0, 6997)
    assert q.applied == () and q.saved_minor == 0


def test_cart_percentage_is_computed_once_and_spread_by_largest_remainder() -> None:
    q = quote([MUG, KNIFE], [pct("ten", 10)])
    assert q.discount_minor == 650  # 10 % of 64.98 = 6.498 -> 6.50
    assert [line.discount_minor for line in q.lines] == [200, 450]  # 199.8 -> 200, 450
    assert q.applied[0].saved_minor == 650 and q.total_minor == 5848
    assert q.lines[0].discounts == (("ten", 200),)


def test_product_and_category_percentages_touch_only_their_lines() -> None:
    by_product = quote([MUG, KNIFE, SHIRT], [pct("mugs", 50, scope=Scope.PRODUCT,
                                                  targets=frozenset({"p-mug"}))])
    assert [line.discount_minor for line in by_product.lines] == [999, 0, 0]
    by_category = quote([MUG, KNIFE, SHIRT], [pct("kit", 20, scope=Scope.CATEGORY,
                                                   targets=frozenset({"kitchen"}))])
    assert [line.discount_minor for line in by_category.lines] == [400, 900, 0]
    assert by_category.discount_minor == percent_of(1998 + 4500, 2000)
    knives = quote([MUG, KNIFE], [pct("kn", 20, scope=Scope.CATEGORY, targets=frozenset({"knives"}))])
    assert [line.discount_minor for line in knives.lines] == [0, 900]


def test_fixed_amounts_per_unit_and_per_cart() -> None:
    per_unit = Promotion("f", "3 off each shirt", Kind.FIXED, Scope.PRODUCT,
                         frozenset({"p-shirt"}), amount_minor=300)
    assert quote([SHIRT], [per_unit]).discount_minor == 900
    huge = Promotion("h", "100 off each", Kind.FIXED, Scope.PRODUCT, frozenset({"p-mug"}),
                     amount_minor=10_000)
    q = quote([MUG], [huge])
    assert q.discount_minor == 1998 and q.total_minor == 0  # never below zero
    cart = Promotion("c", "10 off", Kind.FIXED, amount_minor=1000)
    q = quote([MUG, KNIFE], [cart])
    assert q.discount_minor == 1000 and [line.discount_minor for line in q.lines] == [307, 693]


def test_buy_x_get_y_frees_the_cheapest_units() -> None:
    b2g1 = Promotion("b2g1", "3 for 2", Kind.BUY_X_GET_Y, Scope.CATEGORY, frozenset({"kitchen"}),
                     buy_quantity=2, get_quantity=1)
    q = quote([MUG, KNIFE], [b2g1])  # 3 units: mug, mug, knife -> one mug free
    assert [line.discount_minor for line in q.lines] == [999, 0]
    q = quote([MUG], [b2g1])  # 2 units: nothing free
    assert q.discount_minor == 0 and q.applied == ()
    six = Line("p-mug", "MUG-1", 7, 999, ("kitchen",))
    assert quote([six], [b2g1]).discount_minor == 2 * 999  # 7 units -> 2 free
    half = Promotion("bogo", "2nd half price", Kind.BUY_X_GET_Y, Scope.PRODUCT,
                     frozenset({"p-shirt"}), buy_quantity=1, get_quantity=1, get_percent_bp=5000)
    assert quote([SHIRT], [half]).discount_minor == 750  # 3 units -> 1 at half price


def test_spend_threshold_and_free_delivery_threshold() -> None:
    spend = Promotion("s", "5 off over 50", Kind.FIXED, amount_minor=500, min_subtotal_minor=5000)
    free = Promotion("d", "free delivery over 60", Kind.FREE_DELIVERY, min_subtotal_minor=6000)
    small = quote([MUG], [spend, free], shipping_minor=499)
    assert small.discount_minor == 0 and small.shipping_discount_minor == 0
    big = quote([MUG, KNIFE], [spend, free], shipping_minor=499)
    assert big.discount_minor == 500 and big.shipping_discount_minor == 499
    assert big.total_minor == 6498 - 500 and big.saved_minor == 999
    assert {a.kind for a in big.applied} == {Kind.FIXED, Kind.FREE_DELIVERY}


# --- codes, windows, limits, personal offers -----------------------------------------------
def test_codes_apply_only_when_entered_and_valid() -> None:
    code = pct("welcome", 15, code="WELCOME15", campaign_id="spring")
    assert quote([KNIFE], [code]).discount_minor == 0
    q = quote([KNIFE], [code], codes=["WELCOME15"])
    assert q.discount_minor == 675 and q.applied[0].code == "WELCOME15"
    assert q.applied[0].campaign_id == "spring"
    window = pct("w", 10, code="LATE", starts_at=NOW + timedelta(days=1))
    assert quote([KNIFE], [window], codes=["LATE"]).rejected_codes == (("LATE", "code-not-yet-valid"),)
    over = pct("o", 10, code="OLD", ends_at=NOW)
    assert quote([KNIFE], [over], codes=["OLD"]).rejected_codes == (("OLD", "code-expired"),)
    assert quote([KNIFE], [], codes=["NOPE"]).rejected_codes == (("NOPE", "code-unknown"),)


def test_usage_limits_global_and_per_user() -> None:
    limited = pct("l", 10, code="ONCE", usage_limit=100, per_user_limit=1)
    fresh = quote([KNIFE], [limited], codes=["ONCE"], user_id="u1", usage=Usage({"l": 99}, {}))
    assert fresh.discount_minor == 450
    spent = quote([KNIFE], [limited], codes=["ONCE"], user_id="u1", usage=Usage({"l": 100}, {}))
    assert spent.rejected_codes == (("ONCE", "code-exhausted"),)
    mine = quote([KNIFE], [limited], codes=["ONCE"], user_id="u1", usage=Usage({"l": 5}, {"l": 1}))
    assert mine.rejected_codes == (("ONCE", "code-limit-reached"),)
    guest = quote([KNIFE], [limited], codes=["ONCE"], user_id=None)
    assert guest.rejected_codes == (("ONCE", "sign-in-required"),)


def test_personal_offers_reach_only_their_user() -> None:
    offer = pct("vip", 20, user_id="u-regular")
    assert quote([KNIFE], [offer], user_id="u-regular").discount_minor == 900
    assert quote([KNIFE], [offer], user_id="u-other").discount_minor == 0
    assert quote([KNIFE], [offer]).discount_minor == 0


def test_check_code_refuses_each_bad_case_with_its_reason() -> None:
    promo = pct("x", 10, code="SAVE", min_subtotal_minor=5000, usage_limit=1)
    ok = dict(now=NOW, currency="EUR", user_id="u", usage=Usage(), applied_codes=[])
    check_code(promo, code="SAVE", subtotal_minor=5000, **ok)
    cases = [
        (dict(subtotal_minor=4999), "minimum-basket-not-met", 422),
        (dict(subtotal_minor=9999, applied_codes=["SAVE"]), "code-already-applied", 409),
        (dict(subtotal_minor=9999, usage=Usage({"x": 1})), "code-exhausted", 422),
    ]
    for override, slug, status in cases:
        with pytest.raises(CartRuleError) as err:
            check_code(promo, code="SAVE", **{**ok, **override})
        assert (err.value.slug, err.value.status) == (slug, status)
    with pytest.raises(CartRuleError) as err:
        check_code(None, code="NOPE", subtotal_minor=1, **ok)
    assert err.value.slug == "code-unknown"
    expired = pct("e", 10, code="GONE", ends_at=NOW - timedelta(seconds=1))
    with pytest.raises(CartRuleError) as err:
        check_code(expired, code="GONE", subtotal_minor=1, **ok)
    assert err.value.slug == "code-expired"


# --- stacking and priority -----------------------------------------------------------------
def test_combinable_promotions_compound_in_priority_order() -> None:
    first = pct("a", 10, priority=1)
    then = Promotion("b", "5 off", Kind.FIXED, amount_minor=500, priority=2)
    q = quote([KNIFE], [then, first])
    assert q.discount_minor == 450 + 500
    assert [a.promotion_id for a in q.applied] == ["a", "b"]
    reversed_order = quote([KNIFE], [pct("a", 10, priority=3), then])
    assert reversed_order.discount_minor == 500 + 400  # 10 % of what the 5 off left


def test_exclusive_promotion_never_stacks_and_the_best_option_wins() -> None:
    combinable = [pct("a", 10), Promotion("b", "5 off", Kind.FIXED, amount_minor=500)]
    weak_exclusive = pct("x", 15, exclusive=True)
    q = quote([KNIFE], [*combinable, weak_exclusive])
    assert {a.promotion_id for a in q.applied} == {"a", "b"}  # 950 beats 675
    strong_exclusive = pct("y", 40, exclusive=True, code="BIG")
    q = quote([KNIFE], [*combinable, weak_exclusive, strong_exclusive], codes=["BIG"])
    assert [a.promotion_id for a in q.applied] == ["y"] and q.discount_minor == 1800
    tie = quote([KNIFE], [pct("t1", 10, exclusive=True, priority=5),
                          pct("t2", 10, exclusive=True, priority=1)])
    assert [a.promotion_id for a in tie.applied] == ["t2"]
    losing_code = quote([KNIFE], [pct("a", 50), pct("c", 5, exclusive=True, code="SMALL")],
                        codes=["SMALL"])
    assert losing_code.rejected_codes == (("SMALL", "no-saving"),)


def test_wrong_currency_and_inactive_promotions_are_ignored() -> None:
    usd = Promotion("u", "5 off", Kind.FIXED, amount_minor=500, currency="USD")
    off = pct("o", 10, active=False)
    assert quote([KNIFE], [usd, off]).discount_minor == 0


# --- properties ------------------------------------------------------------------------------
lines_st = st.lists(
    st.builds(Line, st.sampled_from(["p1", "p2", "p3", "p4", "p5"]), st.just("S"),
              st.integers(1, 20), st.integers(0, 100_000),
              st.sampled_from([(), ("a",), ("a", "b"), ("c",)])),
    min_size=0, max_size=12)
promo_st = st.builds(
    Promotion,
    id=st.text("abcdefgh", min_size=1, max_size=4),
    name=st.just("p"),
    kind=st.sampled_from(list(Kind)),
    scope=st.sampled_from(list(Scope)),
    targets=st.frozensets(st.sampled_from(["p1", "p2", "a", "b", "c"]), max_size=3),
    percent_bp=st.integers(0, BP),
    amount_minor=st.integers(0, 50_000),
    buy_quantity=st.integers(0, 4),
    get_quantity=st.integers(0, 3),
    get_percent_bp=st.integers(0, BP),
    min_subtotal_minor=st.integers(0, 200_000),
    priority=st.integers(0, 5),
    exclusive=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(lines_st, st.lists(promo_st, max_size=8), st.integers(0, 2000))
def test_pricing_invariants(lines: list[Line], promos: list[Promotion], shipping: int) -> None:
    q = quote(lines, promos, shipping_minor=shipping)
    assert q.subtotal_minor == sum(line.quantity * line.unit_price_minor for line in lines)
    for line in q.lines:
        assert 0 <= line.discount_minor <= line.subtotal_minor
        assert line.total_minor == line.subtotal_minor - line.discount_minor >= 0
        assert sum(a for _, a in line.discounts) == line.discount_minor
    assert sum(line.discount_minor for line in q.lines) == q.discount_minor  # no cent lost/invented
    line_savings = sum(a.saved_minor for a in q.applied if a.kind is not Kind.FREE_DELIVERY)
    assert line_savings == q.discount_minor
    assert 0 <= q.shipping_discount_minor <= shipping
    assert q.total_minor == q.subtotal_minor - q.discount_minor + shipping - q.shipping_discount_minor
    assert q.total_minor >= 0
    applied = {a.promotion_id for a in q.applied}
    exclusive_only = {p.id for p in promos if p.exclusive} - {p.id for p in promos if not p.exclusive}
    if applied & exclusive_only:
        assert len(q.applied) == 1  # an exclusive promotion stands alone
    assert all(a.saved_minor > 0 for a in q.applied)


@settings(max_examples=150, deadline=None)
@given(lines_st.filter(bool), st.integers(1, BP))
def test_a_lone_cart_percentage_is_exactly_the_rounded_percentage(lines: list[Line], bp: int) -> None:
    q = quote(lines, [Promotion("p", "p", Kind.PERCENT, percent_bp=bp)])
    assert q.discount_minor == percent_of(q.subtotal_minor, bp)


@settings(max_examples=300, deadline=None)
@given(lines_st, st.lists(promo_st, max_size=6))
def test_the_best_option_saves_at_least_any_single_eligible_promotion(
    lines: list[Line], promos: list[Promotion]
) -> None:
    best = quote(lines, promos).saved_minor
    for promo in promos:
        assert best >= quote(lines, [promo]).saved_minor


# --- line rules ------------------------------------------------------------------------------
def test_cap_quantity_by_limit_and_stock() -> None:
    assert cap_quantity(requested=3, per_item_limit=10, available=None) == (3, None)
    assert cap_quantity(requested=30, per_item_limit=10, available=None) == (10, "per-item-limit")
    assert cap_quantity(requested=8, per_item_limit=10, available=5) == (5, "stock")
    assert cap_quantity(requested=8, per_item_limit=10, available=-2) == (0, "stock")


def test_merge_adds_quantities_and_caps_them() -> None:
    merged, adjustments = merge_quantities(
        into={"a": 2, "b": 9, "c": 1}, incoming={"a": 3, "b": 5, "d": 4, "e": 1}, per_item_limit=10,
        available={"a": 100, "b": 100, "d": 3, "e": 0})
    assert merged == {"a": 5, "b": 10, "c": 1, "d": 3}
    assert [(a.product_id, a.requested, a.kept, a.reason) for a in adjustments] == [
        ("b", 14, 10, "per-item-limit"), ("d", 4, 3, "stock"), ("e", 1, 0, "stock")]
