"""Events the catalog service publishes (source `catalog`).

Created and updated events carry the product's full state after the change, so a consumer (the
warehouse, the search indexer) keeps the latest state without calling the catalog.
Money is integer minor units plus an ISO 4217 currency, never floats.
"""

from __future__ import annotations

from pydantic import Field

from services.platform.events import EventData, register

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
