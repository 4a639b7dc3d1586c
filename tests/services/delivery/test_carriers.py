"""Rate cards, tracking number formats and the shipment status machine (pure)."""

from __future__ import annotations

import pytest

from services.delivery import domain
from services.delivery.carriers import CARRIERS
from services.delivery.domain import DeliveryRuleError, Parcel

SMALL = Parcel(weight_g=800, length_cm=20, width_cm=15, height_cm=10)


def test_three_carriers_with_different_prices_for_the_same_parcel() -> None:
    prices = {c: {r.service_level: r.price_minor for r in CARRIERS[c].rates(SMALL, "domestic")}
              for c in CARRIERS}
    assert prices == {"swiftpost": {"economy": 399, "standard": 549, "pickup": 349},
                      "parcelhub": {"standard": 499, "locker": 299},
                      "boxline": {"express": 1299, "next_day": 1999}}


def test_price_grows_with_chargeable_weight_and_zone() -> None:
    post = CARRIERS["swiftpost"]
    heavy = Parcel(weight_g=3_200, length_cm=20, width_cm=15, height_cm=10)
    assert post.chargeable_kg(heavy) == 4
    standard = {r.service_level: r for r in post.rates(heavy, "eu")}["standard"]
    assert standard.price_minor == 1399 + 3 * 200 and (standard.eta_min_days, standard.eta_max_days) == (3, 6)
    # Light but bulky: volumetric weight (60*50*40/6000 = 20 kg) is what is charged.
    bulky = Parcel(weight_g=1_000, length_cm=60, width_cm=50, height_cm=40)
    assert post.chargeable_kg(bulky) == 20 and CARRIERS["boxline"].chargeable_kg(bulky) == 24
    assert {r.service_level for r in post.rates(SMALL, "world")} == {"economy", "standard"}
    assert CARRIERS["parcelhub"].rates(SMALL, "world") == []


def test_limits_and_oversize_surcharge() -> None:
    long = Parcel(weight_g=2_000, length_cm=110, width_cm=10, height_cm=10)
    assert CARRIERS["parcelhub"].rates(long, "domestic") == []
    economy = CARRIERS["swiftpost"].rates(long, "domestic")[0]
    assert economy.price_minor == 399 + 1 * 50 + 900
    assert CARRIERS["swiftpost"].rates(Parcel(31_000, 10, 10, 10), "domestic") == []
    assert CARRIERS["boxline"].rates(Parcel(31_000, 10, 10, 10), "domestic")


@pytest.mark.parametrize(("carrier", "pattern_len", "prefix"), [
    ("swiftpost", 13, "RR"), ("parcelhub", 14, "PH"), ("boxline", 18, "1Z")])
def test_tracking_numbers_in_each_carriers_format(carrier: str, pattern_len: int, prefix: str) -> None:
    c = CARRIERS[carrier]
    numbers = {c.tracking_number(n) for n in range(1, 200)}
    assert len(numbers) == 199
    for number in numbers:
        assert len(number) == pattern_len and number.startswith(prefix)
        assert c.valid_tracking_number(number)
        last = number[-1] if carrier != "swiftpost" else number[10]
        broken = number.replace(last, str((int(last) + 1) % 10), 1) if carrier == "swiftpost" \
            else number[:-1] + str((int(last) + 1) % 10)
        assert not c.valid_tracking_number(broken)


def test_known_s10_number() -> None:
    assert CARRIERS["swiftpost"].tracking_number(47312482) == "RR473124829DE"


def test_zones_and_item_parcels() -> None:
    assert domain.zone(origin="DE", destination="DE") == "domestic"
    assert domain.zone(origin="DE", destination="FR") == "eu"
    assert domain.zone(origin="DE", destination="US") == "world"
    parcel = domain.parcel_for_items([(2, None), (1, 1_500)])
    assert parcel.weight_g == 2_500 and parcel.length_cm == 19
    with pytest.raises(DeliveryRuleError):
        domain.parcel_for_items([])


def test_status_machine() -> None:
    assert domain.advance("label_created", "picked_up")
    assert domain.advance("label_created", "in_transit")  # a skipped scan is fine
    assert not domain.advance("in_transit", "picked_up")  # late, out of order: kept, not applied
    assert not domain.advance("in_transit", "in_transit")
    assert domain.advance("in_transit", "exception") and domain.advance("exception", "delivered")
    assert not domain.advance("delivered", "in_transit")
    assert domain.advance("label_created", "cancelled")
    with pytest.raises(DeliveryRuleError):
        domain.advance("picked_up", "cancelled")
