"""Rules of stock and reservations. Pure functions, no I/O.

A reservation moves `reserved -> committed` (paid: the stock ships) or `reserved -> released`
(cancelled, failed) or `reserved -> expired` (the sweeper, once `expires_at` has passed). Those
three are final. Repeating the move that already happened is a no-op (idempotent by order id);
any other move is a conflict. A reservation past its expiry that the sweeper has not reached yet
can still be committed: its stock is still held, and refusing would strand a paid order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

RESERVED, COMMITTED, RELEASED, EXPIRED = "reserved", "committed", "released", "expired"
MAX_LINE_QUANTITY = 10_000
MAX_LINES = 200


class InventoryRuleError(Exception):
    """A stock rule was broken; `slug` and `status` become the problem+json answer."""

    def __init__(self, detail: str, *, slug: str, status: int = 409, **extra: object):
        super().__init__(detail)
        self.detail, self.slug, self.status, self.extra = detail, slug, status, extra


def merge_lines(lines: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """One line per SKU (duplicates add up), sorted by SKU: the fixed order in which rows are
    locked, so two multi-line reservations can never deadlock each other."""
    merged: dict[str, int] = {}
    for sku, quantity in lines:
        merged[sku] = merged.get(sku, 0) + quantity
    for sku, quantity in merged.items():
        if quantity > MAX_LINE_QUANTITY:
            raise InventoryRuleError(f"At most {MAX_LINE_QUANTITY} units of {sku} per reservation.",
                                     slug="quantity-too-large", status=422)
    return sorted(merged.items())


def expiry(*, now: datetime, requested_ttl_s: int | None, default_ttl_s: int, max_ttl_s: int) -> datetime:
    ttl = default_ttl_s if requested_ttl_s is None else requested_ttl_s
    if not 1 <= ttl <= max_ttl_s:
        raise InventoryRuleError(f"ttl_seconds must be between 1 and {max_ttl_s}.",
                                 slug="validation-error", status=422)
    return now + timedelta(seconds=ttl)


def transition(current: str, target: str) -> bool:
    """True if the move must happen, False if it already did (a replay); raise if it cannot."""
    if current == target:
        return False
    if current == RESERVED and target in (COMMITTED, RELEASED, EXPIRED):
        return True
    verbs = {COMMITTED: "commit", RELEASED: "release", EXPIRED: "expire"}
    raise InventoryRuleError(f"The reservation is {current}; it cannot {verbs[target]}.",
                             slug=f"reservation-{current}", status=409)


def crossed_low(*, before: int, after: int, threshold: int) -> bool:
    """Low stock is announced once, when availability falls to or below the threshold."""
    return before > threshold >= after


def came_back(*, before: int, after: int) -> bool:
    return before <= 0 < after
