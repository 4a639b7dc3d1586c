"""Carriers behind one adapter interface.

Adding a real carrier = one new `Carrier` subclass registered in `CARRIERS`:

- `rates(parcel, zone)`: the services it offers for that parcel and destination zone, with price
  (integer minor units) and ETA range in days; an empty list when it cannot carry the parcel.
- `pickup_points(country, postcode)`: where a shopper may collect (empty if it has none).
- `tracking_number(serial)`: a tracking number in the carrier's own format, and
  `valid_tracking_number(number)` to recognise one (both check digits included).
- `STATUS_MAP`: the carrier's webhook status words -> our shipment statuses.

A real adapter would call the carrier's API in `rates`/`create_label`; the simulated ones below
compute from a rate card: price = base + per started kilogram of chargeable weight (the larger
of actual and volumetric weight), by zone (domestic, EU, world) and service level, plus an
oversize surcharge.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass, field
from typing import ClassVar

from services.delivery.domain import Parcel, PickupPoint, Rate


@dataclass(frozen=True)
class ServiceLevel:
    code: str
    base_minor: dict[str, int]  # zone -> price of the first kilogram
    per_kg_minor: dict[str, int]  # zone -> each further started kilogram
    eta_days: dict[str, tuple[int, int]]
    pickup: bool = False  # delivered to a pickup point instead of the door


@dataclass(frozen=True)
class Carrier:
    code: str
    name: str
    levels: tuple[ServiceLevel, ...]
    volumetric_divisor: int  # cm3 per kg
    max_weight_g: int
    max_side_cm: int
    oversize_side_cm: int
    oversize_minor: int
    currency: str = "EUR"
    STATUS_MAP: ClassVar[dict[str, str]] = {}
    points: tuple[str, ...] = field(default=())

    def chargeable_kg(self, parcel: Parcel) -> int:
        volumetric_g = parcel.volume_cm3 * 1000 // self.volumetric_divisor
        return max(1, math.ceil(max(parcel.weight_g, volumetric_g) / 1000))

    def rates(self, parcel: Parcel, zone: str) -> list[Rate]:
        if parcel.weight_g > self.max_weight_g or parcel.longest_side_cm > self.max_side_cm:
            return []
        kg = self.chargeable_kg(parcel)
        surcharge = self.oversize_minor if parcel.longest_side_cm > self.oversize_side_cm else 0
        out = []
        for level in self.levels:
            if zone not in level.base_minor:
                continue
            price = level.base_minor[zone] + (kg - 1) * level.per_kg_minor[zone] + surcharge
            lo, hi = level.eta_days[zone]
            out.append(Rate(carrier=self.code, service_level=level.code, price_minor=price,
                            currency=self.currency, eta_min_days=lo, eta_max_days=hi,
                            pickup=level.pickup))
        return out

    def pickup_points(self, country: str, postcode: str) -> list[PickupPoint]:
        """Deterministic points near the postcode (a real adapter asks the carrier)."""
        area = "".join(ch for ch in postcode.upper() if ch.isalnum())[:3] or "000"
        return [PickupPoint(id=f"{self.code}-{country}-{area}-{i}", carrier=self.code,
                            name=f"{self.name} {kind} {area}-{i}", country=country,
                            postcode=postcode) for i, kind in enumerate(self.points, start=1)]

    def tracking_number(self, serial: int) -> str:
        raise NotImplementedError

    def valid_tracking_number(self, number: str) -> bool:
        raise NotImplementedError


def s10_check_digit(digits: str) -> int:
    """UPU S10 check digit over 8 digits (weights 8 6 4 2 3 5 9 7, mod 11)."""
    total = sum(int(d) * w for d, w in zip(digits, (8, 6, 4, 2, 3, 5, 9, 7), strict=True))
    check = 11 - total % 11
    return {10: 0, 11: 5}.get(check, check)


class PostCarrier(Carrier):
    """A national post: UPU S10 numbers like `RR123456785DE`."""

    STATUS_MAP: ClassVar[dict[str, str]] = {
        "ACCEPTED": "picked_up", "IN_TRANSIT": "in_transit", "OUT_FOR_DELIVERY": "out_for_delivery",
        "DELIVERED": "delivered", "HELD": "exception", "RETURNED": "returned"}

    def tracking_number(self, serial: int) -> str:
        body = f"{serial % 10**8:08d}"
        return f"RR{body}{s10_check_digit(body)}DE"

    def valid_tracking_number(self, number: str) -> bool:
        return (len(number) == 13 and number[:2].isalpha() and number[2:11].isdigit()
                and number[11:].isalpha() and s10_check_digit(number[2:10]) == int(number[10]))


def luhn_digit(digits: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return (10 - total % 10) % 10


class HubCarrier(Carrier):
    """A parcel-locker network: `PH` + 11 digits + a Luhn digit."""

    STATUS_MAP: ClassVar[dict[str, str]] = {
        "collected": "picked_up", "sorting": "in_transit", "on_route": "out_for_delivery",
        "delivered": "delivered", "in_locker": "delivered", "problem": "exception",
        "returned": "returned"}

    def tracking_number(self, serial: int) -> str:
        body = f"{serial % 10**11:011d}"
        return f"PH{body}{luhn_digit(body)}"

    def valid_tracking_number(self, number: str) -> bool:
        return (len(number) == 14 and number.startswith("PH") and number[2:].isdigit()
                and luhn_digit(number[2:13]) == int(number[13]))


_ALNUM = string.digits + string.ascii_uppercase


def ups_check_digit(body: str) -> int:
    """UPS-style: letters map to digits ((ord-63) % 10), odd/even positions weighted 1/2."""
    values = [int(c) if c.isdigit() else (ord(c) - 63) % 10 for c in body]
    total = sum(v * (2 if i % 2 else 1) for i, v in enumerate(values))
    return (10 - total % 10) % 10


class ExpressCarrier(Carrier):
    """An express integrator: `1Z` + 6-character account + 2-digit service + 7 digits + check."""

    STATUS_MAP: ClassVar[dict[str, str]] = {
        "P": "picked_up", "I": "in_transit", "O": "out_for_delivery", "D": "delivered",
        "X": "exception", "RS": "returned"}
    ACCOUNT = "SHOP42"

    def tracking_number(self, serial: int) -> str:
        body = f"{self.ACCOUNT}01{serial % 10**7:07d}"
        return f"1Z{body}{ups_check_digit(body)}"

    def valid_tracking_number(self, number: str) -> bool:
        return (len(number) == 18 and number.startswith("1Z")
                and all(c in _ALNUM for c in number[2:])
                and ups_check_digit(number[2:17]) == int(number[17]))


_Z = ("domestic", "eu", "world")


def _by_zone(*values: int) -> dict[str, int]:
    return dict(zip(_Z[: len(values)], values, strict=True))


CARRIERS: dict[str, Carrier] = {c.code: c for c in (
    PostCarrier(
        code="swiftpost", name="SwiftPost", volumetric_divisor=6000, max_weight_g=30_000,
        max_side_cm=120, oversize_side_cm=100, oversize_minor=900, points=("post office", "kiosk"),
        levels=(
            ServiceLevel("economy", _by_zone(399, 999, 1899), _by_zone(50, 150, 400),
                         {"domestic": (3, 5), "eu": (6, 10), "world": (10, 21)}),
            ServiceLevel("standard", _by_zone(549, 1399, 2499), _by_zone(80, 200, 550),
                         {"domestic": (1, 3), "eu": (3, 6), "world": (6, 12)}),
            ServiceLevel("pickup", _by_zone(349, 899), _by_zone(40, 120),
                         {"domestic": (2, 4), "eu": (5, 8)}, pickup=True),
        )),
    HubCarrier(
        code="parcelhub", name="ParcelHub", volumetric_divisor=5000, max_weight_g=25_000,
        max_side_cm=80, oversize_side_cm=60, oversize_minor=600, points=("locker",),
        levels=(
            ServiceLevel("standard", _by_zone(499, 1199), _by_zone(60, 180),
                         {"domestic": (1, 2), "eu": (2, 5)}),
            ServiceLevel("locker", _by_zone(299, 799), _by_zone(30, 100),
                         {"domestic": (1, 3), "eu": (3, 6)}, pickup=True),
        )),
    ExpressCarrier(
        code="boxline", name="BoxLine Express", volumetric_divisor=5000, max_weight_g=70_000,
        max_side_cm=270, oversize_side_cm=150, oversize_minor=2500,
        levels=(
            ServiceLevel("express", _by_zone(1299, 2499, 4999), _by_zone(150, 300, 800),
                         {"domestic": (1, 2), "eu": (1, 3), "world": (2, 5)}),
            ServiceLevel("next_day", _by_zone(1999), _by_zone(200), {"domestic": (1, 1)}),
        )),
)}
