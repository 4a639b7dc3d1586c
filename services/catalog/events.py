"""Events the catalog service publishes (source `catalog`).

Created and updated events carry the product's full state after the change, so a consumer (the
warehouse, the search indexer) keeps the latest state without calling the catalog.
Money is integer minor units plus an ISO 4217 currency, never floats. Review events (also on
the catalog stream) carry the product's rating aggregate after the change.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from services.platform.events import EventData, register, stream_for

SOURCE = "catalog"


class ProductState(EventData):
    """The product as it is after the change."""

    product_id: str
    sku: str
    title: str
    brand: str | None = None
    category_path: list[str] = Field(min_length=1)
    """From the root down, e.g. `["Home", "Kitchen", "Knives"]`."""
    price_minor: int = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)


@register
class ProductCreated(ProductState):
    event_type = "catalog.product_created"


@register
class ProductUpdated(ProductState):
    event_type = "catalog.product_updated"


@register
class ProductDeleted(EventData):
    event_type = "catalog.product_deleted"
    product_id: str
    sku: str


class ReviewFacts(EventData):
    """A review after the change, with the product's rating aggregate after it too."""

    review_id: str
    product_id: str
    user_id: str
    rating: int = Field(ge=1, le=5)
    verified_purchase: bool = False
    product_rating_avg: float = Field(ge=0, le=5)
    product_rating_count: int = Field(ge=0)


@register
class ReviewSubmitted(ReviewFacts):
    event_type = "review.submitted"


@register
class ReviewUpdated(ReviewFacts):
    event_type = "review.updated"


@register
class ReviewModerated(ReviewFacts):
    """An admin hid or restored the review (hidden reviews do not count in the rating)."""

    event_type = "review.moderated"
    hidden: bool
    note: str | None = None


@register
class ReviewDeleted(ReviewFacts):
    event_type = "review.deleted"


@register
class ReviewHelpfulVoted(EventData):
    event_type = "review.helpful_voted"
    review_id: str
    product_id: str
    user_id: str
    helpful_count: int = Field(ge=0)


# --- consumed -------------------------------------------------------------------------------

INVENTORY_STREAM = stream_for("inventory")
STOCK_CHANGED = "inventory.stock_changed"


class StockChangedView(BaseModel):
    """What the catalog reads from `inventory.stock_changed` (the inventory service owns and
    registers the full contract; unknown fields are ignored here on purpose).

    `available` is the sellable quantity of the SKU over all warehouses after the change.
    """

    model_config = ConfigDict(extra="ignore")
    sku: str = Field(min_length=1, max_length=64)
    available: int


ORDERS_STREAM = stream_for("orders")
ORDER_PLACED, ORDER_PAID = "order.placed", "order.paid"


class OrderedLineView(BaseModel):
    model_config = ConfigDict(extra="ignore")
    product_id: str


class OrderPlacedView(BaseModel):
    """What the catalog reads from `order.placed` (the orders service owns the contract)."""

    model_config = ConfigDict(extra="ignore")
    order_id: str = Field(min_length=1, max_length=64)
    user_id: str = Field(min_length=1, max_length=36)
    lines: list[OrderedLineView]


class OrderPaidView(BaseModel):
    model_config = ConfigDict(extra="ignore")
    order_id: str = Field(min_length=1, max_length=64)
    user_id: str = Field(min_length=1, max_length=36)


INDEX_SOURCE = "search"
"""The catalog-indexer announces index commits on `shop:events:search`, so caches of search
answers (the gateway's) are dropped only once the index really shows the change."""


@register
class IndexUpdated(EventData):
    event_type = "search.index_updated"
    index: str | None
    products: int = Field(ge=0)
