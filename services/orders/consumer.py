"""What the orders service consumes from the bus: the delivery service's shipment events
(fulfilling -> shipped -> delivered) and the payments service's events (a second path, beside
the signed webhook, that wakes a saga waiting for a payment)."""

from __future__ import annotations

import threading
from typing import Any

from redis import Redis

from services.orders.service import SHIPMENT_NEWS, Orders
from services.orders.store import PROCESSED
from services.platform.consumer import AlwaysRun, Consumer, SqlIdempotency
from services.platform.events import Event, stream_for

GROUP = "orders"


def consumers(orders: Orders, redis: Redis) -> list[Consumer]:
    def on_shipment(event: Event, session: Any) -> None:
        orders.shipment_news(event.type, event.data, session)

    def on_payment(event: Event, _: Any) -> None:
        orders.payment_news(event.id, event.model_dump(mode="json"))

    return [
        Consumer(redis, group=GROUP, streams=[stream_for("delivery")], handler=on_shipment,
                 idempotency=SqlIdempotency(orders.db, PROCESSED, "orders-shipments"),
                 accepts=lambda event: event.type in SHIPMENT_NEWS),
        # payment_news deduplicates by event id itself and passes over news that is not an
        # order's without writing (both shared with the webhook path): no filter needed here.
        Consumer(redis, group=GROUP, streams=[stream_for("payments")], handler=on_payment,
                 idempotency=AlwaysRun()),
    ]


def run_all(orders: Orders, redis: Redis, stop: threading.Event) -> list[threading.Thread]:
    threads = [threading.Thread(target=c.run, args=(stop,), daemon=True, name=f"orders-{i}")
               for i, c in enumerate(consumers(orders, redis))]
    for t in threads:
        t.start()
    return threads
