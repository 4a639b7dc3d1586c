"""Behaviour events the storefront sends to the analytics intake (published as source `analytics`).

Every event belongs to a browser session (`session_id`, minted by the storefront and expiring
after 30 minutes of inactivity) and to a device (`anonymous_id`, a long-lived first-party id).
`user_id` is set once the shopper is logged in; the warehouse stitches anonymous and logged-in
activity through `anonymous_id`, so a session that logs in half-way counts for the user.
Prices are integer minor units plus an ISO 4217 currency, never floats.
"""

from __future__ import annotations

from pydantic import Field

from services.platform.events import EventData, register

SOURCE = "analytics"


class BehaviourEvent(EventData):
    """Fields every behaviour event carries."""

    session_id: str
    anonymous_id: str
    user_id: str | None = None


@register
class PageView(BehaviourEvent):
    event_type = "page_view"
    path: str
    referrer: str | None = None
    campaign_id: str | None = None
    """Campaign the shopper landed from (utm_campaign), used for campaign conversion."""


@register
class ProductView(BehaviourEvent):
    event_type = "product_view"
    product_id: str
    sku: str
    category: str | None = None
    source: str | None = None
    """Where the click came from: `search`, `browse`, `recommendation`, `direct`."""


@register
class Search(BehaviourEvent):
    """One results page; sent when the shopper leaves it, so the click (if any) is known."""

    event_type = "search"
    query: str
    result_count: int = Field(ge=0)
    clicked_position: int | None = Field(default=None, ge=1)
    """1-based rank of the result clicked, None when nothing was clicked."""
    clicked_product_id: str | None = None


@register
class AddToCart(BehaviourEvent):
    event_type = "add_to_cart"
    product_id: str
    sku: str
    quantity: int = Field(ge=1)
    unit_price_minor: int = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)


@register
class RecommendationShown(BehaviourEvent):
    event_type = "recommendation_shown"
    placement: str
    """Where the shelf was shown: `home`, `product`, `cart`, `email`."""
    model: str
    """Model name and version that produced the list, for A/B comparison."""
    product_ids: list[str]
    context_product_id: str | None = None


@register
class RecommendationClicked(BehaviourEvent):
    event_type = "recommendation_clicked"
    placement: str
    model: str
    product_id: str
    position: int = Field(ge=1)
