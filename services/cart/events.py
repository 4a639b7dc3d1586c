"""Events the cart service publishes (source `cart`).

A cart belongs to a session and, once the shopper logs in, to a user. `cart.abandoned` is
emitted by the cart's expiry sweep for carts with items that never checked out.
Money is integer minor units plus an ISO 4217 currency, never floats.

The cart has no SQL database, so there is no outbox table: each event is appended to the
`shop:events:cart` stream inside the same Redis MULTI/EXEC transaction that writes the cart
(see `store.py`), which gives the outbox's guarantee (the event exists iff the change did).
The warehouse reads the first four types below; keep their fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.platform.events import EventData, register

SOURCE = "cart"


@register
class CartItemAdded(EventData):
    event_type = "cart.item_added"
    cart_id: str
    session_id: str | None = None
    user_id: str | None = None
    product_id: str
    sku: str
    quantity: int = Field(ge=1)
    unit_price_minor: int = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)


@register
class CartCheckedOut(EventData):
    event_type = "cart.checked_out"
    cart_id: str
    session_id: str | None = None
    user_id: str
    order_id: str
    item_count: int = Field(ge=1)
    subtotal_minor: int = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)


@register
class CartPromoCodeApplied(EventData):
    """A promo code accepted on a cart (a redemption, whether or not the cart converts)."""

    event_type = "cart.promo_code_applied"
    cart_id: str
    session_id: str | None = None
    user_id: str | None = None
    promo_code: str
    campaign_id: str | None = None
    discount_minor: int = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)


@register
class CartAbandoned(EventData):
    event_type = "cart.abandoned"
    cart_id: str
    session_id: str | None = None
    user_id: str | None = None
    item_count: int = Field(ge=1)
    subtotal_minor: int = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)
    campaign_id: str | None = None
    """Campaign attached to the cart (through a promo code or the landing page), if any."""


@register
class CartItemRemoved(EventData):
    event_type = "cart.item_removed"
    cart_id: str
    session_id: str | None = None
    user_id: str | None = None
    product_id: str
    sku: str
    quantity: int = Field(ge=1)
    """How many units left the cart with the line."""
    reason: str = "removed"
    """removed, saved_for_later or cleared."""


@register
class CartQuantityChanged(EventData):
    event_type = "cart.quantity_changed"
    cart_id: str
    session_id: str | None = None
    user_id: str | None = None
    product_id: str
    sku: str
    old_quantity: int = Field(ge=1)
    new_quantity: int = Field(ge=1)
    unit_price_minor: int = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)


# --- consumed ------------------------------------------------------------------------------------
OFFERS_STREAM = "shop:events:recommendations"
OFFERS_GROUP = "cart-offers"


class OfferGrantedView(BaseModel):
    """What the cart reads of `recommendation.offer_granted` (published by recommendations);
    unknown fields are ignored so the publisher can add to its contract freely."""

    model_config = ConfigDict(extra="ignore")
    offer_id: str
    user_id: str
    campaign_id: str
    name: str
    kind: Literal["percent", "fixed"]
    percent_bp: int | None = Field(default=None, ge=1, le=10_000)
    amount_minor: int | None = Field(default=None, ge=1)
    currency: str | None = None
    min_subtotal_minor: int = Field(default=0, ge=0)
    starts_at: datetime
    ends_at: datetime
