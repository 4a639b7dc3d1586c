"""Live signals between two nightly publications, from the event bus into Redis.

- `inventory.stock_changed` (by SKU): the out-of-stock set, so a sold-out item leaves every
  shelf within a second. A SKU whose product is not known yet is remembered and mapped when
  the catalog (or the next publication) names its product.
- `catalog.product_created/updated/deleted`: SKU -> product, the category of items created
  after the last publication (their shelves fall back to their category's popular items), and
  deleted products leave the shelves.
- `order.placed`: what a shopper bought since the last publication (never recommended again).

Every handler is idempotent by construction (set membership, hash fields), so redelivery is
harmless and the consumer needs no processed-ids record. It runs in a thread of the service
(`RECOMMENDATIONS_CONSUME_EVENTS`); several instances share one consumer group.
"""

from __future__ import annotations

import threading

from pydantic import BaseModel, ConfigDict
from redis import Redis

from services.platform.consumer import AlwaysRun, Consumer
from services.platform.events import Event
from services.recommendations.events import FOLLOWED_STREAMS
from services.recommendations.store import (
    NEW_ITEMS,
    OUT_OF_STOCK,
    OUT_OF_STOCK_SKUS,
    OUT_OF_STOCK_VERSION,
    SKU_PRODUCT,
    live_bought_key,
)

GROUP = "recommendations-signals"


class _View(BaseModel):
    """Only the fields read here; the owners register the full contracts."""

    model_config = ConfigDict(extra="ignore")


class StockView(_View):
    sku: str
    available: int


class ProductView(_View):
    product_id: str
    sku: str
    category_path: list[str] = []


class OrderLineView(_View):
    product_id: str


class OrderPlacedView(_View):
    user_id: str
    lines: list[OrderLineView]


class Signals:
    def __init__(self, redis: Redis):
        self.redis = redis

    def handle(self, event: Event, _session: object = None) -> None:
        if event.type == "inventory.stock_changed":
            self._stock(StockView.model_validate(event.data))
        elif event.type in ("catalog.product_created", "catalog.product_updated"):
            self._product(ProductView.model_validate(event.data))
        elif event.type == "catalog.product_deleted":
            view = ProductView.model_validate(event.data)
            self._set_out_of_stock(view.sku, view.product_id, out=True)
        elif event.type == "order.placed":
            order = OrderPlacedView.model_validate(event.data)
            self.redis.sadd(live_bought_key(order.user_id), *{line.product_id for line in order.lines})

    def _stock(self, stock: StockView) -> None:
        product = self.redis.hget(SKU_PRODUCT, stock.sku)
        self._set_out_of_stock(stock.sku, product.decode() if product else None, out=stock.available <= 0)

    def _set_out_of_stock(self, sku: str, product: str | None, *, out: bool) -> None:
        pipe = self.redis.pipeline(transaction=True)
        (pipe.sadd if out else pipe.srem)(OUT_OF_STOCK_SKUS, sku)
        if product:
            (pipe.sadd if out else pipe.srem)(OUT_OF_STOCK, product)
        pipe.incr(OUT_OF_STOCK_VERSION)
        pipe.execute()

    def _product(self, product: ProductView) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(SKU_PRODUCT, product.sku, product.product_id)
        if product.category_path:
            pipe.hset(NEW_ITEMS, product.product_id, product.category_path[0])
        pipe.sismember(OUT_OF_STOCK_SKUS, product.sku)
        pending = pipe.execute()[-1]
        if pending:
            self._set_out_of_stock(product.sku, product.product_id, out=True)


def build_consumer(redis: Redis) -> Consumer:
    return Consumer(redis, group=GROUP, streams=list(FOLLOWED_STREAMS),
                    handler=Signals(redis).handle, idempotency=AlwaysRun(), start_id="0")


def run_in_thread(consumer: Consumer) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, kwargs={"stop": stop, "block_ms": 500},
                              name="recommendations-signals", daemon=True)
    thread.start()
    return thread, stop
