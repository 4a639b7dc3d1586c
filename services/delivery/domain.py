"""Rules of delivery: parcels, zones, quotes and the shipment status machine. Pure functions.

A shipment moves forward only: label_created -> picked_up -> in_transit -> out_for_delivery ->
delivered. `exception` (held, damaged, address problem) can happen at any point before delivery
and is left by any forward status; `returned` and `delivered` are final; a label can be
`cancelled` before pickup. Carriers report out of order and twice: a status at or behind the
current one is recorded in the timeline but does not move the shipment back.
"""

from __future__ import annotations

from dataclasses import dataclass

EU = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
})

LABEL_CREATED, PICKED_UP, IN_TRANSIT, OUT_FOR_DELIVERY, DELIVERED = (
    "label_created", "picked_up", "in_transit", "out_for_delivery", "delivered")
EXCEPTION, RETURNED, CANCELLED = "exception", "returned", "cancelled"
FORWARD = (LABEL_CREATED, PICKED_UP, IN_TRANSIT, OUT_FOR_DELIVERY, DELIVERED)
FINAL = frozenset({DELIVERED, RETURNED, CANCELLED})
STATUSES = (*FORWARD, EXCEPTION, RETURNED, CANCELLED)

DEFAULT_ITEM_WEIGHT_G = 500
DEFAULT_ITEM_VOLUME_CM3 = 2_000


class DeliveryRuleError(Exception):
    """A delivery rule was broken; `slug` and `status` become the problem+json answer."""

    def __init__(self, detail: str, *, slug: str, status: int = 409, **extra: object):
        super().__init__(detail)
        self.detail, self.slug, self.status, self.extra = detail, slug, status, extra


@dataclass(frozen=True)
class Parcel:
    weight_g: int
    length_cm: int
    width_cm: int
    height_cm: int

    @property
    def volume_cm3(self) -> int:
        return self.length_cm * self.width_cm * self.height_cm

    @property
    def longest_side_cm(self) -> int:
        return max(self.length_cm, self.width_cm, self.height_cm)


@dataclass(frozen=True)
class Rate:
    carrier: str
    service_level: str
    price_minor: int
    currency: str
    eta_min_days: int
    eta_max_days: int
    pickup: bool = False


@dataclass(frozen=True)
class PickupPoint:
    id: str
    carrier: str
    name: str
    country: str
    postcode: str


def zone(*, origin: str, destination: str) -> str:
    if origin == destination:
        return "domestic"
    return "eu" if origin in EU and destination in EU else "world"


def parcel_for_items(items: list[tuple[int, int | None]]) -> Parcel:
    """A box for `(quantity, weight_g or None)` lines: weights add up (500 g per unknown item),
    the box is a cube holding the items' volume (2 litres each) plus 20 % padding."""
    quantity = sum(q for q, _ in items)
    if quantity <= 0:
        raise DeliveryRuleError("Nothing to ship.", slug="empty-parcel", status=422)
    weight = sum(q * (w if w is not None else DEFAULT_ITEM_WEIGHT_G) for q, w in items)
    side = max(10, round((quantity * DEFAULT_ITEM_VOLUME_CM3 * 1.2) ** (1 / 3)))
    return Parcel(weight_g=weight, length_cm=side, width_cm=side, height_cm=side)


def advance(current: str, reported: str) -> bool:
    """True if a carrier report moves the shipment to `reported`; False if it is stale or a
    repeat (kept in the timeline only); raise if the move is impossible."""
    if current == reported:
        return False
    if reported == CANCELLED:
        if current != LABEL_CREATED:
            raise DeliveryRuleError("A shipment can only be cancelled before pickup.",
                                    slug="shipment-picked-up")
        return True
    if current in FINAL:
        return False  # late reports about a finished shipment change nothing
    if reported in (EXCEPTION, RETURNED):
        return True
    if current == EXCEPTION:
        return True
    return FORWARD.index(reported) > FORWARD.index(current)
