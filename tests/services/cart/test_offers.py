"""Personal offers granted by the recommendations side reach the shopper's cart total."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from services.cart.offers import consumer
from services.platform.events import make_event
from services.recommendations.events import STREAM, OfferGranted
from tests.services.cart.conftest import CartService


def grant(cart: CartService, *, user_id: str, offer_id: str, **over: object) -> None:
    now = datetime.now(UTC)
    data = OfferGranted(**{
        "offer_id": offer_id, "user_id": user_id, "segment": "loyal", "rule_id": "r1",
        "campaign_id": "loyal-nov", "name": "Thanks for staying", "kind": "percent",
        "percent_bp": 1500, "starts_at": now - timedelta(minutes=1),
        "ends_at": now + timedelta(days=7), **over})
    event = make_event(data, source="recommendations", subject=user_id)
    cart.redis.xadd(STREAM, {"event": event.to_json()})


def drain(cart: CartService) -> None:
    offers = consumer(cart.app.state.settings)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        offers.poll_once(block_ms=50)
        if cart.redis.xpending(STREAM, offers.group)["pending"] == 0 and offers.stats["handled"]:
            return


def test_granted_offer_discounts_only_its_shopper_once(cart: CartService) -> None:
    offer_id = str(uuid.uuid4())
    grant(cart, user_id="ann", offer_id=offer_id)
    grant(cart, user_id="ann", offer_id=offer_id)  # a re-sent grant changes nothing
    drain(cart)
    cart.add("3", 2, **cart.auth("ann"))
    cart.add("3", 2, **cart.auth("bob"))
    ann = cart.http.get("/api/cart", headers=cart.auth("ann")).json()
    assert ann["totals"]["discount_minor"] == 450  # 15 % of 30.00
    assert [p["name"] for p in ann["promotions"]] == ["Thanks for staying"]
    assert cart.http.get("/api/cart", headers=cart.auth("bob")).json()["totals"]["discount_minor"] == 0
    offers = cart.http.get("/api/cart/offers", headers=cart.auth("ann")).json()["items"]
    assert [(o["id"], o["campaign_id"], o["per_user_limit"]) for o in offers] == [
        (offer_id, "loyal-nov", 1)]


def test_fixed_offers_and_foreign_events(cart: CartService) -> None:
    cart.redis.xadd(STREAM, {"event": make_event(
        OfferGranted(offer_id=str(uuid.uuid4()), user_id="zed", segment="at_risk", rule_id="r2",
                     campaign_id="winback", name="5 off", kind="fixed", amount_minor=500,
                     currency="EUR", starts_at=datetime.now(UTC) - timedelta(minutes=1),
                     ends_at=datetime.now(UTC) + timedelta(days=1)),
        source="recommendations").to_json()})
    drain(cart)
    cart.add("3", 1, **cart.auth("zed"))
    assert cart.http.get("/api/cart", headers=cart.auth("zed")).json()["totals"]["discount_minor"] == 500
