"""Personal offers: marketers' rules over HTTP (admins only, consistent or refused), grants from
the RFM segments of the published warehouse, one `recommendation.offer_granted` event per offer
on the bus (tagged with its campaign), and the shopper's own offers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pytest
import redis as redis_lib

from services.platform.events import Event
from services.recommendations.events import STREAM
from services.recommendations.service import Offers
from tests.services.recommendations.conftest import Stack
from tests.warehouse.conftest import build_history
from warehouse.build import Warehouse
from warehouse.lake import LakeWriter

RULE = {"name": "Thank you", "segment": "loyal", "kind": "percent", "percent": "12.5",
        "campaign_id": "LOYAL-2026", "valid_days": 30}


def bus(redis_client: redis_lib.Redis) -> list[Event]:
    return [Event.from_json(f[b"event"]) for _, f in redis_client.xrange(STREAM)]


def test_rules_are_for_admins_and_must_be_consistent(stack: Stack, redis_client: redis_lib.Redis) -> None:
    _, admin = stack.auth("rules-admin@example.com", admin=True)
    _, customer = stack.auth("rules-customer@example.com")
    url = "/api/recommendations/offer-rules"
    assert stack.http.post(url, json=RULE, headers=customer).status_code == 403
    assert stack.http.get(url).status_code == 401
    r = stack.http.post(url, json=RULE, headers=admin)
    assert r.status_code == 201, r.text
    rule = r.json()
    assert rule["percent"] == "12.5" and rule["campaign_id"] == "LOYAL-2026"
    for bad, fragment in (({**RULE, "percent": None}, "needs `percent`"),
                          ({**RULE, "kind": "fixed", "percent": None, "amount_minor": 500}, "currency"),
                          ({**RULE, "segment": "vip"}, "segment"),
                          ({**RULE, "percent": "150"}, "percent"),
                          ({**RULE, "campaign_id": "no spaces allowed"}, "campaign_id"),
                          ({**RULE, "surprise": True}, "surprise")):
        r = stack.http.post(url, json=bad, headers=admin)
        assert r.status_code == 422 and fragment in r.text, (bad, r.text)
    r = stack.http.patch(f"{url}/{rule['id']}", json={"kind": "fixed"}, headers=admin)
    assert r.status_code == 422 and "inconsistent" in r.json()["detail"]
    r = stack.http.patch(f"{url}/{rule['id']}", json={"segment": "at_risk", "active": False}, headers=admin)
    assert r.status_code == 200 and r.json()["segment"] == "at_risk" and r.json()["percent"] == "12.5"
    listed = stack.http.get(url, headers=admin).json()
    assert listed["total"] == 1 and listed["items"][0]["active"] is False
    assert stack.http.delete(f"{url}/{rule['id']}", headers=admin).status_code == 204
    assert stack.http.get(f"{url}/{rule['id']}", headers=admin).status_code == 404


def test_offers_reach_the_bus_and_the_shopper(stack: Stack, redis_client: redis_lib.Redis) -> None:
    user, auth = stack.auth("regular@example.com")
    offers = Offers(redis_client)
    _, admin = stack.auth("offers-admin@example.com", admin=True)
    rule = stack.http.post("/api/recommendations/offer-rules", json=RULE, headers=admin).json()
    fixed = stack.http.post("/api/recommendations/offer-rules", headers=admin, json={
        "name": "We miss you", "segment": "at_risk", "kind": "fixed", "amount_minor": 500,
        "currency": "EUR", "min_subtotal_minor": 2000, "campaign_id": "WINBACK"}).json()
    now = datetime.now(UTC) - timedelta(days=100)  # these grants have all expired by today
    summary = offers.grant([(user, "loyal"), ("someone", "at_risk"), ("newbie", "new")], now=now)
    assert summary.granted == 2 and summary.by_campaign == {"LOYAL-2026": 1, "WINBACK": 1}
    events = bus(redis_client)
    assert [e.type for e in events] == ["recommendation.offer_granted"] * 2
    mine = next(e for e in events if e.data["user_id"] == user)
    assert mine.id == mine.data["offer_id"] and mine.subject == user and mine.source == "recommendations"
    assert mine.data["percent_bp"] == 1250 and mine.data["campaign_id"] == "LOYAL-2026"
    assert mine.data["rule_id"] == rule["id"] and mine.data["segment"] == "loyal"
    assert datetime.fromisoformat(mine.data["ends_at"]) == now + timedelta(days=30)
    theirs = next(e for e in events if e.data["user_id"] == "someone")
    assert theirs.data["amount_minor"] == 500 and theirs.data["rule_id"] == fixed["id"]
    assert theirs.data["min_subtotal_minor"] == 2000 and theirs.data["currency"] == "EUR"

    # granting again while the offers are valid gives nothing new, on the bus or to the shopper
    again = offers.grant([(user, "loyal"), ("someone", "at_risk")], now=now + timedelta(days=1))
    assert again.granted == 0 and again.already_held == 2 and len(bus(redis_client)) == 2
    # after expiry the customer, still loyal, earns a new one
    later = offers.grant([(user, "loyal")], now=now + timedelta(days=31))
    assert later.granted == 1

    # /me/offers shows the shopper's valid offers only
    body = stack.http.get("/api/recommendations/me/offers", headers=auth).json()
    assert body["total"] == 0
    fresh = offers.grant([(user, "loyal")])
    assert fresh.granted == 1
    body = stack.http.get("/api/recommendations/me/offers", headers=auth).json()
    assert body["total"] == 1 and body["items"][0]["campaign_id"] == "LOYAL-2026"
    assert stack.http.get("/api/recommendations/me/offers").status_code == 401


@pytest.fixture
def warehouse_built(stack: Stack) -> None:
    main, late = build_history()
    writer = LakeWriter(stack.data / "lake")
    writer.add(main + late)
    writer.flush()
    Warehouse(stack.data / "warehouse", stack.data / "lake").refresh(full=True)


def test_grant_needs_an_admin_and_a_built_warehouse(stack: Stack, redis_client: redis_lib.Redis) -> None:
    _, admin = stack.auth("grant-admin@example.com", admin=True)
    _, customer = stack.auth("grant-customer@example.com")
    url = "/api/recommendations/offer-rules/grant"
    assert stack.http.post(url, headers=customer).status_code == 403
    assert not (stack.data / "warehouse" / "CURRENT").exists(), "runs before the warehouse is built"
    r = stack.http.post(url, headers=admin)
    assert r.status_code == 503 and r.json()["type"].endswith("warehouse-not-built")


def test_grant_over_http_uses_every_segment_rule(stack: Stack, redis_client: redis_lib.Redis,
                                                 warehouse_built: None) -> None:
    _, admin = stack.auth("grant-admin2@example.com", admin=True)
    snapshot = sorted((stack.data / "warehouse" / "snapshots").glob("*.duckdb"))[-1]
    with duckdb.connect(str(snapshot), read_only=True) as con:
        segments = con.sql("SELECT user_id, segment FROM marts.rfm_segments").fetchall()
    assert segments
    for segment in {s for _, s in segments}:
        stack.http.post("/api/recommendations/offer-rules", headers=admin,
                        json={**RULE, "segment": segment, "campaign_id": f"C-{segment}"})
    r = stack.http.post("/api/recommendations/offer-rules/grant", headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["granted"] == body["customers"] == len(segments) and body["snapshot"] == snapshot.name
    assert sorted(e.data["user_id"] for e in bus(redis_client)) == sorted(u for u, _ in segments)
