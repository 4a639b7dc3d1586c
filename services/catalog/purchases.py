"""Verified purchases: a review is marked "verified purchase" when its author paid for the product.

`python -m services.catalog.purchases` (run by `shop up` as `catalog-purchases`) follows the
orders stream in its own consumer group. `order.placed` records which catalog products the order
holds; `order.paid` turns them into purchases of that user and flags the user's existing reviews
of those products (each flag change is published as `review.updated`); `order.cancelled` forgets
an order that will never be paid. A review written after the payment is flagged when it is
submitted (`Reviews.submit` asks `store.has_purchased`). Every effect is written in the
consumer's transaction together with the processed event id, so a redelivery changes nothing.

Orders are read from the stream in order, so an order's `placed` is handled before its `paid`.
"""

from __future__ import annotations

import threading
from datetime import datetime

import structlog
from redis import Redis
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.catalog.events import (
    ORDER_PAID,
    ORDER_PLACED,
    ORDERS_STREAM,
    OrderPaidView,
    OrderPlacedView,
)
from services.catalog.reviews import Reviews
from services.catalog.store import PROCESSED, OrderedProduct, Product, Purchase
from services.platform.consumer import Consumer, SqlIdempotency
from services.platform.db import Database, insert_or_ignore
from services.platform.events import Event

log = structlog.get_logger("catalog-purchases")

GROUP = "catalog-purchases"
ORDER_CANCELLED = "order.cancelled"


def catalog_ids(raw: list[str]) -> list[int]:
    """Order lines name products by the catalog's id as text; anything else is not ours."""
    return sorted({int(p) for p in raw if p.isdigit() and 0 < int(p) < 2**31})


class Purchases:
    def __init__(self, *, db: Database, redis: Redis, consumer_name: str | None = None):
        self.db = db
        self.reviews = Reviews(db=db)
        self.consumer = Consumer(
            redis, group=GROUP, streams=[ORDERS_STREAM], handler=self.handle,
            idempotency=SqlIdempotency(db, PROCESSED, GROUP), consumer_name=consumer_name)
        self.stats = {"purchases": 0, "reviews_verified": 0}

    def handle(self, event: Event, session: Session) -> None:
        if event.type == ORDER_PLACED:
            self._placed(session, OrderPlacedView.model_validate(event.data))
        elif event.type == ORDER_PAID:
            self._paid(session, OrderPaidView.model_validate(event.data), event.occurred_at)
        elif event.type == ORDER_CANCELLED:
            session.execute(delete(OrderedProduct)
                            .where(OrderedProduct.order_id == str(event.data["order_id"])))

    def _placed(self, session: Session, order: OrderPlacedView) -> None:
        ids = catalog_ids([line.product_id for line in order.lines])
        known = session.scalars(select(Product.id).where(Product.id.in_(ids))).all() if ids else []
        insert_or_ignore(session, OrderedProduct, [
            {"order_id": order.order_id, "product_id": pid, "user_id": order.user_id} for pid in known])

    def _paid(self, session: Session, order: OrderPaidView, paid_at: datetime) -> None:
        ids = list(session.scalars(select(OrderedProduct.product_id)
                                   .where(OrderedProduct.order_id == order.order_id)))
        if not ids:
            return
        insert_or_ignore(session, Purchase, [
            {"user_id": order.user_id, "product_id": pid, "first_order_id": order.order_id,
             "paid_at": paid_at} for pid in ids])
        self.stats["purchases"] += len(ids)
        self.stats["reviews_verified"] += self.reviews.mark_verified(session, order.user_id, ids)
        session.execute(delete(OrderedProduct).where(OrderedProduct.order_id == order.order_id))

    def run(self, stop: threading.Event) -> None:
        log.info("purchases_started")
        self.consumer.run(stop)


def main() -> None:  # pragma: no cover - exercised by the whole-stack run
    from services.catalog.app import worker_resources
    from services.platform.worker import stop_on_signals

    _, db, redis = worker_resources("catalog-purchases")
    Purchases(db=db, redis=redis).run(stop_on_signals())


if __name__ == "__main__":
    main()
