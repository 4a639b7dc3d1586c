"""Verified purchases: paid orders (from the orders stream) flag the buyer's reviews."""

from __future__ import annotations

import uuid

from services.catalog.purchases import Purchases
from services.orders.events import OrderCancelled, OrderLine, OrderPaid, OrderPlaced
from services.platform.events import EventData, make_event, stream_for
from services.platform.redis import sync_client
from tests.services.catalog.conftest import CatalogService
from tests.services.catalog.test_reviews import review


def publish(catalog: CatalogService, data: EventData) -> None:
    """What the orders outbox relay does: the real orders event models onto the orders stream."""
    event = make_event(data, source="orders", subject=getattr(data, "order_id", None))
    sync_client(catalog.redis_url).xadd(stream_for("orders"), {"event": event.to_json()})


def place(catalog: CatalogService, who: str, product_ids: list[str]) -> str:
    order_id = f"ord-{uuid.uuid4().hex[:10]}"
    lines = [OrderLine(sku=f"S-{p}", product_id=p, quantity=1, unit_price_minor=1999) for p in product_ids]
    publish(catalog, OrderPlaced(order_id=order_id, user_id=catalog.user_id(who), lines=lines,
                                 subtotal_minor=1999 * len(lines), total_minor=1999 * len(lines),
                                 currency="USD"))
    return order_id


def pay(catalog: CatalogService, who: str, order_id: str) -> None:
    publish(catalog, OrderPaid(order_id=order_id, user_id=catalog.user_id(who), payment_id="pay-1",
                               amount_minor=1999, currency="USD"))


def drain(purchases: Purchases) -> None:
    while purchases.consumer.poll_once(block_ms=10):
        pass


def verified(catalog: CatalogService, pid: int) -> dict[str, bool]:
    items = catalog.http.get(f"/api/catalog/products/{pid}/reviews").json()["items"]
    return {r["reviewer_name"]: r["verified_purchase"] for r in items}


def test_paid_orders_verify_reviews_before_and_after(catalog: CatalogService) -> None:
    catalog.category("Books")
    book, other = (catalog.product(f"B-{n}", "books")["id"] for n in (1, 2))
    purchases = Purchases(db=catalog.app.state.db, redis=sync_client(catalog.redis_url),
                          consumer_name="test")
    review(catalog, book, "ann", 5)  # reviewed before buying
    review(catalog, book, "bob", 4)  # never pays
    bobs = place(catalog, "bob", [str(book)])
    anns = place(catalog, "ann", [str(book), str(other), "not-a-catalog-id"])
    drain(purchases)
    assert verified(catalog, book) == {"ann": False, "bob": False}  # placed is not paid

    pay(catalog, "ann", anns)
    publish(catalog, OrderCancelled(order_id=bobs, user_id=catalog.user_id("bob"), reason="x"))
    pay(catalog, "bob", bobs)  # a payment after cancellation finds nothing to verify
    drain(purchases)
    assert verified(catalog, book) == {"ann": True, "bob": False}
    updated = catalog.events("review.updated")
    assert [e["data"]["verified_purchase"] for e in updated] == [True]  # the change is a fact too

    assert review(catalog, other, "ann", 3)["verified_purchase"] is True  # reviewed after paying
    assert review(catalog, other, "bob", 3)["verified_purchase"] is False

    pay(catalog, "ann", anns)  # a second delivery of a paid order (new event id) changes nothing
    drain(purchases)
    assert len(catalog.events("review.updated")) == 1
    assert purchases.stats == {"purchases": 2, "reviews_verified": 1}
