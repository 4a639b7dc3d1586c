"""Quotes, shipments, carrier webhooks, tracking and the demo carrier over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.delivery.simulator import CarrierSimulator, carrier_word, signed_report
from tests.services.delivery.conftest import CARRIER_SECRET
from tests.services.orders.support import Running, problem

ADDRESS = {"recipient": "Ann Example", "line1": "Hauptstr. 1", "city": "Berlin",
           "postcode": "10115", "country": "DE"}


def quotes(delivery: Running, user: str = "shopper-1", **body: Any) -> list[dict[str, Any]]:
    body = {"destination": {"country": "DE", "postcode": "10115"}, **body}
    if "parcel" not in body:
        body.setdefault("items", [{"quantity": 2}])
    r = delivery.http.post("/api/delivery/quotes", json=body, headers=delivery.auth(user))
    assert r.status_code == 201, r.text
    return r.json()["items"]


def ship(delivery: Running, quote: dict[str, Any], order_id: str = "order-1", **extra: Any) -> Any:
    body = {"order_id": order_id, "user_id": "shopper-1", "quote_id": quote["id"],
            "address": ADDRESS, **extra}
    return delivery.http.post("/api/delivery/shipments", json=body,
                              headers=delivery.auth("svc", admin=True))


def report(delivery: Running, carrier: str, tracking: str, status: str, event_id: str,
           secret: str | None = None, when: datetime | None = None) -> Any:
    body = {"event_id": event_id, "tracking_number": tracking, "status": status,
            "location": "hub", "occurred_at": (when or datetime.now(UTC)).isoformat()}
    raw, headers = signed_report(secret or f"{CARRIER_SECRET}:{carrier}", body)
    return delivery.http.post(f"/api/delivery/webhooks/{carrier}", content=raw, headers=headers)


def test_quotes_from_every_carrier_cheapest_first(delivery: Running) -> None:
    items = quotes(delivery)
    assert {q["carrier"] for q in items} == {"swiftpost", "parcelhub", "boxline"}
    prices = [q["price_minor"] for q in items]
    assert prices == sorted(prices) and all(q["eta_min_days"] <= q["eta_max_days"] for q in items)
    abroad = quotes(delivery, destination={"country": "US", "postcode": "10001"},
                    parcel={"weight_g": 900, "length_cm": 20, "width_cm": 10, "height_cm": 10})
    assert {q["carrier"] for q in abroad} == {"swiftpost", "boxline"}
    one = delivery.http.get(f"/api/delivery/quotes/{items[0]['id']}", headers=delivery.auth())
    assert one.json() == items[0]
    problem(delivery.http.get(f"/api/delivery/quotes/{items[0]['id']}",
                              headers=delivery.auth("someone-else")), 404, "unknown-quote")


@pytest.mark.parametrize("body", [
    {"destination": {"country": "DE", "postcode": "10115"}},
    {"destination": {"country": "Germany", "postcode": "10115"}, "items": [{"quantity": 1}]},
    {"destination": {"country": "DE", "postcode": "10115"}, "items": [{"quantity": -1}]},
    {"destination": {"country": "DE", "postcode": "10115"}, "items": [{"quantity": 1}],
     "parcel": {"weight_g": 1, "length_cm": 1, "width_cm": 1, "height_cm": 1}},
])
def test_bad_quote_requests_are_422(delivery: Running, body: dict) -> None:
    r = delivery.http.post("/api/delivery/quotes", json=body, headers=delivery.auth())
    problem(r, 422, "validation-error")


def test_undeliverable_parcel(delivery: Running) -> None:
    r = delivery.http.post("/api/delivery/quotes", headers=delivery.auth(), json={
        "destination": {"country": "DE", "postcode": "10115"},
        "parcel": {"weight_g": 90_000, "length_cm": 20, "width_cm": 10, "height_cm": 10}})
    problem(r, 422, "undeliverable")


def test_shipment_is_idempotent_by_order_and_carries_a_tracking_number(delivery: Running) -> None:
    boxline = next(q for q in quotes(delivery) if q["carrier"] == "boxline")
    first = ship(delivery, boxline)
    assert first.status_code == 201, first.text
    s = first.json()
    assert s["tracking_number"].startswith("1Z") and s["status"] == "label_created"
    again = ship(delivery, boxline)
    assert again.status_code == 200 and again.json()["id"] == s["id"]
    other = next(q for q in quotes(delivery) if q["carrier"] == "swiftpost")
    problem(ship(delivery, other), 409, "order-id-reused")
    assert len(delivery.events("shipment.created")) == 1
    problem(ship(delivery, {"id": "q_" + "0" * 32}, order_id="order-2"), 422, "unknown-quote")
    problem(ship(delivery, boxline, order_id="order-3", address={**ADDRESS, "country": "FR"}),
            422, "address-mismatch")
    locker = next(q for q in quotes(delivery) if q["service_level"] == "locker")
    problem(ship(delivery, locker, order_id="order-4"), 422, "pickup-point-required")
    problem(ship(delivery, boxline, order_id="order-5", address={**ADDRESS, "line1": ""}),
            422, "validation-error")
    shopper = delivery.http.post("/api/delivery/shipments", headers=delivery.auth(), json={
        "order_id": "order-6", "user_id": "shopper-1", "quote_id": boxline["id"], "address": ADDRESS})
    problem(shopper, 403, "forbidden")


def test_carrier_webhooks_move_the_timeline(delivery: Running) -> None:
    post = next(q for q in quotes(delivery) if q["carrier"] == "swiftpost" and not q["pickup"])
    s = ship(delivery, post).json()
    tn = s["tracking_number"]
    problem(report(delivery, "swiftpost", tn, "ACCEPTED", "e1", secret="wrong"), 401, "invalid-signature")
    problem(report(delivery, "parcelhub", tn, "collected", "e1"), 404, "unknown-tracking")
    problem(report(delivery, "swiftpost", tn, "TELEPORTED", "e1"), 422, "unknown-carrier-status")
    problem(report(delivery, "nobody", tn, "ACCEPTED", "e1"), 404, "unknown-carrier")
    t0 = datetime.now(UTC)
    assert report(delivery, "swiftpost", tn, "IN_TRANSIT", "e2", when=t0).json()["status"] == "in_transit"
    late = report(delivery, "swiftpost", tn, "ACCEPTED", "e3", when=t0 - timedelta(hours=1))
    assert late.json()["status"] == "in_transit"  # recorded, does not move back
    assert report(delivery, "swiftpost", tn, "IN_TRANSIT", "e2", when=t0).status_code == 200  # dup
    done = report(delivery, "swiftpost", tn, "DELIVERED", "e4").json()
    assert done["status"] == "delivered"
    # The timeline is ordered by when things happened, the late scan included.
    assert [e["status"] for e in done["timeline"]] == ["picked_up", "label_created", "in_transit",
                                                       "delivered"]
    assert [e["data"]["status"] for e in delivery.events("shipment.status_changed")] == [
        "in_transit", "delivered"]
    assert len(delivery.events("shipment.delivered")) == 1
    public = delivery.http.get(f"/api/delivery/tracking/{tn}").json()
    assert public["status"] == "delivered" and public["user_id"] == "" and "line1" not in public["address"]
    problem(delivery.http.post(f"/api/delivery/shipments/{s['id']}/cancel",
                               headers=delivery.auth("a", admin=True)), 409, "shipment-picked-up")


def test_demo_carrier_delivers_everything(delivery: Running) -> None:
    ids = []
    for n, carrier in enumerate(("swiftpost", "parcelhub", "boxline")):
        quote = next(q for q in quotes(delivery) if q["carrier"] == carrier and not q["pickup"])
        ids.append(ship(delivery, quote, order_id=f"order-sim-{n}").json()["id"])
    sim = CarrierSimulator(delivery.app.state.db, delivery.app.state.settings, delivery.base_url)
    for _ in range(4):
        assert sim.step() == 3
    assert sim.step() == 0
    for sid in ids:
        s = delivery.http.get(f"/api/delivery/shipments/{sid}", headers=delivery.auth()).json()
        assert s["status"] == "delivered" and len(s["timeline"]) == 5
    assert carrier_word("boxline", "delivered") == "D"
    assert len(delivery.events("shipment.delivered")) == 3


def test_pickup_points_and_carriers(delivery: Running) -> None:
    points = delivery.http.get("/api/delivery/pickup-points",
                               params={"country": "DE", "postcode": "10115"}).json()
    assert {p["carrier"] for p in points["items"]} == {"swiftpost", "parcelhub"}
    carriers = delivery.http.get("/api/delivery/carriers").json()
    assert carriers["total"] == 3
    problem(delivery.http.get("/api/delivery/pickup-points",
                              params={"country": "DE", "postcode": "10115", "carrier": "x"}),
            404, "unknown-carrier")
    locker = next(q for q in quotes(delivery) if q["service_level"] == "locker")
    point = next(p for p in points["items"] if p["carrier"] == "parcelhub")
    s = ship(delivery, locker, order_id="order-locker", pickup_point_id=point["id"])
    assert s.status_code == 201 and s.json()["pickup_point_id"] == point["id"]
