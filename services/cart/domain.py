"""Rules of the cart: the pricing engine and the line rules (caps, merge). Pure functions, no I/O.

Money is integer minor units; percentages are integer basis points (1 % = 100 bp), so no float
ever touches a price.

Pricing, in order:

1. Each line's subtotal is `quantity * unit_price_minor`.
2. A promotion is *eligible* when it is active, inside its validity window, its code (if any) was
   entered, its user (personal offers) is the shopper, its usage limits are not exhausted, its
   currency is the cart's and the cart subtotal reaches its `min_subtotal_minor` (spend threshold /
   minimum basket). Codes that were entered but are not eligible are reported with the reason.
3. Stacking: *combinable* promotions stack with each other, an *exclusive* one with nothing. The
   engine prices the set of all combinable promotions and each exclusive promotion alone, and
   keeps the option that saves the shopper the most (ties: the combinable set, then the lower
   priority number). Inside an option promotions apply in `(priority, id)` order, each one on what
   the previous ones left of every line, so discounts compound and a line never goes below zero.
4. Rounding: a percentage (and a cart-wide fixed amount) is computed once on the eligible total,
   rounded half up to the minor unit, then split across the eligible lines by largest-remainder
   allocation in proportion to what is left of each line (ties to the earlier line). So the
   shopper sees exactly "10 % of 9.99 = 1.00" and the lines add up to it: no cent is lost or
   invented. Fixed amounts per product/category are per unit, capped at what is left of the line.
   Buy-X-get-Y makes the cheapest eligible units free (or `get_percent_bp` off), computed on what
   is left of those lines.
5. Free delivery waives the delivery fee (shown as its own saving, not spread over the lines).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from fractions import Fraction

BP = 10_000
"""Basis points in 100 %."""
MAX_CODES_PER_CART = 5


class Kind(StrEnum):
    PERCENT = "percent"
    FIXED = "fixed"
    BUY_X_GET_Y = "buy_x_get_y"
    FREE_DELIVERY = "free_delivery"


class Scope(StrEnum):
    PRODUCT = "product"
    CATEGORY = "category"
    CART = "cart"


class CartRuleError(Exception):
    """A cart rule was broken; `slug` and `status` become the problem+json answer."""

    def __init__(self, detail: str, *, slug: str, status: int = 422, **extra: object):
        super().__init__(detail)
        self.detail, self.slug, self.status, self.extra = detail, slug, status, extra


@dataclass(frozen=True, slots=True)
class Line:
    product_id: str
    sku: str
    quantity: int
    unit_price_minor: int
    categories: tuple[str, ...] = ()
    """Every category the product sits in (its path from the root); a category promotion matches
    any of them, so "Kitchen" covers "Kitchen > Knives"."""

    @property
    def subtotal_minor(self) -> int:
        return self.quantity * self.unit_price_minor


@dataclass(frozen=True, slots=True)
class Promotion:
    id: str
    name: str
    kind: Kind
    scope: Scope = Scope.CART
    targets: frozenset[str] = frozenset()
    """Product ids (scope product) or category names/slugs (scope category)."""
    percent_bp: int = 0
    amount_minor: int = 0
    """FIXED: per unit for product/category scope, once per cart for cart scope."""
    buy_quantity: int = 0
    get_quantity: int = 0
    get_percent_bp: int = BP
    min_subtotal_minor: int = 0
    currency: str | None = None
    """Currency of `amount_minor` and `min_subtotal_minor`; None fits any cart."""
    code: str | None = None
    user_id: str | None = None
    """A personal offer: only this shopper gets it."""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    usage_limit: int | None = None
    per_user_limit: int | None = None
    priority: int = 100
    exclusive: bool = False
    active: bool = True
    campaign_id: str | None = None


@dataclass(frozen=True, slots=True)
class LineQuote:
    product_id: str
    sku: str
    quantity: int
    unit_price_minor: int
    subtotal_minor: int
    discount_minor: int
    total_minor: int
    discounts: tuple[tuple[str, int], ...] = ()
    """(promotion id, amount) for each promotion that took something off this line."""


@dataclass(frozen=True, slots=True)
class AppliedPromotion:
    promotion_id: str
    name: str
    kind: Kind
    saved_minor: int
    code: str | None = None
    campaign_id: str | None = None


@dataclass(frozen=True, slots=True)
class Quote:
    lines: tuple[LineQuote, ...]
    subtotal_minor: int
    discount_minor: int
    shipping_minor: int
    shipping_discount_minor: int
    total_minor: int
    applied: tuple[AppliedPromotion, ...]
    rejected_codes: tuple[tuple[str, str], ...] = ()
    """(code, reason) for codes on the cart that do not apply right now."""

    @property
    def saved_minor(self) -> int:
        return self.discount_minor + self.shipping_discount_minor


@dataclass(frozen=True, slots=True)
class Usage:
    """How often promotions were used, globally and by this shopper."""

    total: Mapping[str, int] = field(default_factory=dict)
    by_user: Mapping[str, int] = field(default_factory=dict)


# --- arithmetic ---------------------------------------------------------------------------
def percent_of(amount_minor: int, percent_bp: int) -> int:
    """`amount * percent`, rounded half up to the minor unit (both non-negative)."""
    return (2 * amount_minor * percent_bp + BP) // (2 * BP)


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` over `weights` in proportion, by largest remainder: the parts sum exactly
    to `total`, each is within one unit of its exact share and never above its weight (when
    `0 <= total <= sum(weights)`). Ties go to the earlier weight."""
    whole = sum(weights)
    if total <= 0 or whole <= 0:
        return [0] * len(weights)
    if total > whole:
        raise ValueError("cannot allocate more than the weights hold")
    parts = [total * w // whole for w in weights]
    left = total - sum(parts)
    if left:
        order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
        for i in order[:left]:
            parts[i] += 1
    return parts


# --- eligibility --------------------------------------------------------------------------
def normalise_code(code: str) -> str:
    return code.strip().upper()


def ineligibility(
    promo: Promotion, *, now: datetime, subtotal_minor: int, currency: str, user_id: str | None,
    usage: Usage, codes: Iterable[str] = (),
) -> str | None:
    """Why `promo` cannot apply to this cart now (a stable reason slug), or None if it can."""
    if not promo.active:
        return "code-inactive"
    if promo.code is not None and promo.code not in codes:
        return "code-not-entered"
    if promo.user_id is not None and promo.user_id != user_id:
        return "not-your-offer"
    if promo.starts_at is not None and now < promo.starts_at:
        return "code-not-yet-valid"
    if promo.ends_at is not None and now >= promo.ends_at:
        return "code-expired"
    if promo.usage_limit is not None and usage.total.get(promo.id, 0) >= promo.usage_limit:
        return "code-exhausted"
    if promo.per_user_limit is not None:
        if user_id is None:
            return "sign-in-required"
        if usage.by_user.get(promo.id, 0) >= promo.per_user_limit:
            return "code-limit-reached"
    if promo.currency is not None and promo.currency != currency:
        return "wrong-currency"
    if subtotal_minor < promo.min_subtotal_minor:
        return "minimum-basket-not-met"
    return None


def _targets(promo: Promotion, lines: Sequence[Line]) -> list[int]:
    if promo.scope is Scope.CART:
        return list(range(len(lines)))
    if promo.scope is Scope.PRODUCT:
        return [i for i, line in enumerate(lines) if line.product_id in promo.targets]
    return [i for i, line in enumerate(lines) if not promo.targets.isdisjoint(line.categories)]


# --- one promotion on what is left --------------------------------------------------------
def _line_discounts(promo: Promotion, lines: Sequence[Line], left: Sequence[int]) -> dict[int, int]:
    """What `promo` takes off each eligible line, given what is left of every line."""
    idx = [i for i in _targets(promo, lines) if left[i] > 0]
    if not idx:
        return {}
    if promo.kind is Kind.PERCENT:
        base = sum(left[i] for i in idx)
        parts = allocate(percent_of(base, promo.percent_bp), [left[i] for i in idx])
    elif promo.kind is Kind.FIXED and promo.scope is Scope.CART:
        base = sum(left[i] for i in idx)
        parts = allocate(min(promo.amount_minor, base), [left[i] for i in idx])
    elif promo.kind is Kind.FIXED:
        parts = [min(promo.amount_minor * lines[i].quantity, left[i]) for i in idx]
    elif promo.kind is Kind.BUY_X_GET_Y:
        parts = _buy_x_get_y(promo, lines, left, idx)
    else:
        return {}
    return {i: p for i, p in zip(idx, parts, strict=True) if p > 0}


def _buy_x_get_y(promo: Promotion, lines: Sequence[Line], left: Sequence[int], idx: list[int]) -> list[int]:
    group = promo.buy_quantity + promo.get_quantity
    if promo.buy_quantity < 1 or promo.get_quantity < 1:
        return [0] * len(idx)
    units = sum(lines[i].quantity for i in idx)
    free = (units // group) * promo.get_quantity
    parts = dict.fromkeys(idx, 0)
    # The cheapest units (by what is left per unit) are the free ones; ties to the earlier line.
    for i in sorted(idx, key=lambda i: (Fraction(left[i], lines[i].quantity), i)):
        if free <= 0:
            break
        take = min(free, lines[i].quantity)
        free -= take
        share = (left[i] * take) // lines[i].quantity if take < lines[i].quantity else left[i]
        parts[i] = percent_of(share, promo.get_percent_bp)
    return [parts[i] for i in idx]


@dataclass
class _Outcome:
    left: list[int]
    per_line: list[list[tuple[str, int]]]
    applied: list[AppliedPromotion]
    shipping_discount: int = 0

    @property
    def saved(self) -> int:
        return sum(a.saved_minor for a in self.applied)


def _apply(option: Sequence[Promotion], lines: Sequence[Line], shipping_minor: int) -> _Outcome:
    out = _Outcome(left=[line.subtotal_minor for line in lines],
                   per_line=[[] for _ in lines], applied=[])
    for promo in option:
        if promo.kind is Kind.FREE_DELIVERY:
            saved = shipping_minor - out.shipping_discount
            out.shipping_discount = shipping_minor
        else:
            taken = _line_discounts(promo, lines, out.left)
            for i, amount in taken.items():
                out.left[i] -= amount
                out.per_line[i].append((promo.id, amount))
            saved = sum(taken.values())
        if saved > 0:
            out.applied.append(AppliedPromotion(promo.id, promo.name, promo.kind, saved,
                                                promo.code, promo.campaign_id))
    return out


# --- the engine ---------------------------------------------------------------------------
def price_cart(
    *,
    lines: Sequence[Line],
    promotions: Iterable[Promotion],
    now: datetime,
    currency: str,
    codes: Sequence[str] = (),
    user_id: str | None = None,
    usage: Usage | None = None,
    shipping_minor: int = 0,
) -> Quote:
    """Price a cart: every applied promotion with the money it saved, totals that add up."""
    usage = usage or Usage()
    subtotal = sum(line.subtotal_minor for line in lines)
    eligible: list[Promotion] = []
    rejected: list[tuple[str, str]] = []
    by_code = {}
    for promo in promotions:
        if promo.code is not None:
            by_code[promo.code] = promo
        reason = ineligibility(promo, now=now, subtotal_minor=subtotal, currency=currency,
                               user_id=user_id, usage=usage, codes=codes)
        if reason is None:
            eligible.append(promo)
        elif promo.code is not None and promo.code in codes:
            rejected.append((promo.code, reason))
    rejected += [(c, "code-unknown") for c in codes if c not in by_code]
    eligible.sort(key=lambda p: (p.priority, p.id))
    options: list[list[Promotion]] = [[p for p in eligible if not p.exclusive]]
    options += [[p] for p in eligible if p.exclusive]
    best: _Outcome | None = None
    for option in options:  # first best wins ties: the combinable set, then by priority
        outcome = _apply(option, lines, shipping_minor)
        if best is None or outcome.saved > best.saved:
            best = outcome
    assert best is not None
    used = {a.promotion_id for a in best.applied}
    for promo in eligible:
        if promo.code is not None and promo.id not in used:
            rejected.append((promo.code, "no-saving"))
    quoted = tuple(
        LineQuote(line.product_id, line.sku, line.quantity, line.unit_price_minor,
                  line.subtotal_minor, line.subtotal_minor - best.left[i], best.left[i],
                  tuple(best.per_line[i]))
        for i, line in enumerate(lines)
    )
    discount = subtotal - sum(best.left)
    return Quote(
        lines=quoted, subtotal_minor=subtotal, discount_minor=discount,
        shipping_minor=shipping_minor, shipping_discount_minor=best.shipping_discount,
        total_minor=subtotal - discount + shipping_minor - best.shipping_discount,
        applied=tuple(best.applied), rejected_codes=tuple(rejected),
    )


def check_code(
    promo: Promotion | None, *, code: str, now: datetime, subtotal_minor: int, currency: str,
    user_id: str | None, usage: Usage, applied_codes: Sequence[str],
) -> None:
    """Raise why `code` cannot be put on the cart (unknown, applied twice, expired, exhausted,
    limit reached, minimum basket not met); return quietly when it can."""
    if code in applied_codes:
        raise CartRuleError(f"The code {code} is already on the cart.", slug="code-already-applied",
                            status=409)
    if promo is None or promo.code != code:
        raise CartRuleError(f"There is no promo code {code}.", slug="code-unknown", status=404)
    if len(applied_codes) >= MAX_CODES_PER_CART:
        raise CartRuleError(f"At most {MAX_CODES_PER_CART} codes per cart.", slug="too-many-codes")
    reason = ineligibility(promo, now=now, subtotal_minor=subtotal_minor, currency=currency,
                           user_id=user_id, usage=usage, codes=[code])
    if reason is not None:
        raise CartRuleError(_CODE_MESSAGES.get(reason, "The code cannot be used.").format(
            code=code, minimum=promo.min_subtotal_minor), slug=reason,
            status=401 if reason == "sign-in-required" else 422)


_CODE_MESSAGES = {
    "code-inactive": "The code {code} is not active.",
    "code-not-entered": "The code {code} is not valid.",
    "not-your-offer": "The code {code} is not valid for your account.",
    "code-not-yet-valid": "The code {code} is not valid yet.",
    "code-expired": "The code {code} has expired.",
    "code-exhausted": "The code {code} has been used up.",
    "code-limit-reached": "You have already used the code {code} as often as allowed.",
    "sign-in-required": "Sign in to use the code {code}.",
    "wrong-currency": "The code {code} does not apply to this currency.",
    "minimum-basket-not-met": "The code {code} needs a basket of at least {minimum} (minor units).",
}


# --- line rules ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Adjustment:
    """A quantity the cart could not keep, and why (shown to the shopper after a merge)."""

    product_id: str
    requested: int
    kept: int
    reason: str


def cap_quantity(*, requested: int, per_item_limit: int, available: int | None) -> tuple[int, str | None]:
    """The quantity a line may hold: at most the per-item limit and the stock (None = unknown,
    not capped). Returns (quantity, reason it was capped or None)."""
    quantity, reason = requested, None
    if quantity > per_item_limit:
        quantity, reason = per_item_limit, "per-item-limit"
    if available is not None and quantity > available:
        quantity, reason = max(available, 0), "stock"
    return quantity, reason


def merge_quantities(
    *, into: Mapping[str, int], incoming: Mapping[str, int], per_item_limit: int,
    available: Mapping[str, int | None],
) -> tuple[dict[str, int], list[Adjustment]]:
    """Merge a guest cart into a user cart: quantities add up, capped by the per-item limit and
    the stock; lines capped to zero disappear. Keys are product ids."""
    merged: dict[str, int] = dict(into)
    adjustments: list[Adjustment] = []
    for product_id, quantity in incoming.items():
        wanted = merged.get(product_id, 0) + quantity
        kept, reason = cap_quantity(requested=wanted, per_item_limit=per_item_limit,
                                    available=available.get(product_id))
        if reason:
            adjustments.append(Adjustment(product_id, wanted, kept, reason))
        if kept > 0:
            merged[product_id] = kept
        else:
            merged.pop(product_id, None)
    return merged, adjustments
