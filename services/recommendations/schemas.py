"""Request and response models of the recommendations service (one family per entity)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.platform.utc import UtcDatetime
from services.recommendations.domain import SEGMENTS

ProductId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Ref = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_./-]{1,120}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Money = Annotated[int, Field(ge=0, le=10**10)]
Percent = Annotated[Decimal, Field(gt=0, le=100, decimal_places=2)]
Segment = Literal[SEGMENTS]  # type: ignore[valid-type]
Source = Literal["personal", "similar_to_purchases", "popular", "similar", "content",
                 "bought_together", "cart", "category_popular"]




class Input(BaseModel):
    """Request bodies refuse unknown fields: a typo must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


# --- recommendations ------------------------------------------------------------------------
class Recommended(BaseModel):
    product_id: str
    score: float


class RecommendationList(BaseModel):
    """A shelf. Send `model` back in `recommendation_shown` / `recommendation_clicked` events:
    it names the model and registry version that produced the list, so clicks are attributed."""

    items: list[Recommended]
    total: int
    model: str = Field(examples=["ease@v0003"])
    source: Source
    """How the list was made: `personal` (the model's top-N), `similar_to_purchases` (a known
    shopper the model has not seen yet), `popular` (cold start), `similar`/`content` (item
    neighbours by co-interaction / by text), `bought_together`, `cart`, `category_popular`."""
    publication: str


class CartRecommendationRequest(Input):
    product_ids: list[ProductId] = Field(min_length=1, max_length=100)
    limit: int | None = Field(None, ge=1, le=50)


class PublicationStatus(BaseModel):
    publication: str
    model: str
    model_version: str
    published_at: datetime
    users: int
    items: int
    out_of_stock: int


# --- offer rules and offers -----------------------------------------------------------------
class OfferRuleFields(Input):
    name: Name
    segment: Segment
    kind: Literal["percent", "fixed"]
    percent: Percent | None = None
    amount_minor: Money | None = None
    currency: Currency | None = None
    """Currency of `amount_minor` and `min_subtotal_minor`; required for fixed amounts."""
    min_subtotal_minor: Money = 0
    valid_days: int = Field(14, ge=1, le=365)
    """An offer is valid this many days from the moment it is granted."""
    campaign_id: Ref
    active: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = []
        if self.kind == "percent" and self.percent is None:
            problems.append("a percent offer needs `percent`")
        if self.kind == "percent" and self.amount_minor is not None:
            problems.append("a percent offer takes no `amount_minor`")
        if self.kind == "fixed" and not self.amount_minor:
            problems.append("a fixed offer needs a positive `amount_minor`")
        if self.kind == "fixed" and self.percent is not None:
            problems.append("a fixed offer takes no `percent`")
        if (self.kind == "fixed" or self.min_subtotal_minor) and self.currency is None:
            problems.append("amounts need a `currency`")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class OfferRuleCreate(OfferRuleFields):
    pass


class OfferRuleUpdate(Input):
    """Any field of a rule; the result must still be a consistent rule."""

    name: Name | None = None
    segment: Segment | None = None
    kind: Literal["percent", "fixed"] | None = None
    percent: Percent | None = None
    amount_minor: Money | None = None
    currency: Currency | None = None
    min_subtotal_minor: Money | None = None
    valid_days: int | None = Field(None, ge=1, le=365)
    campaign_id: Ref | None = None
    active: bool | None = None


class OfferRulePublic(OfferRuleFields):
    model_config = ConfigDict(extra="ignore")
    id: str
    created_at: UtcDatetime
    updated_at: UtcDatetime


class OfferRuleList(BaseModel):
    items: list[OfferRulePublic]
    total: int


class OfferPublic(BaseModel):
    offer_id: str
    user_id: str
    segment: str
    rule_id: str
    campaign_id: str
    name: str
    kind: Literal["percent", "fixed"]
    percent_bp: int | None = None
    amount_minor: int | None = None
    currency: str | None = None
    min_subtotal_minor: int = 0
    starts_at: UtcDatetime
    ends_at: UtcDatetime


class OfferList(BaseModel):
    items: list[OfferPublic]
    total: int


class GrantSummary(BaseModel):
    granted: int
    already_held: int
    customers: int
    by_campaign: dict[str, int]
    snapshot: str | None = None
