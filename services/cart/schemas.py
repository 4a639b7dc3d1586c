"""Request and response models of the cart service (one family per entity)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from services.cart.domain import Kind, Scope
from services.platform.utc import UtcDatetime

ProductId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Code = Annotated[str, BeforeValidator(lambda v: v.strip().upper() if isinstance(v, str) else v),
                 StringConstraints(pattern=r"^[A-Z0-9_-]{3,32}$")]
"""Promo codes compare case-insensitively: stored and matched upper-cased."""
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Quantity = Annotated[int, Field(ge=1, le=999)]
Money = Annotated[int, Field(ge=0, le=10**10)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Ref = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_./-]{1,120}$")]
Percent = Annotated[Decimal, Field(gt=0, le=100, decimal_places=2)]




class Input(BaseModel):
    """Request bodies refuse unknown fields: a typo must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


# --- cart -----------------------------------------------------------------------------------
class ItemAdd(Input):
    product_id: ProductId
    quantity: Quantity = 1


class QuantityUpdate(Input):
    quantity: Quantity


class CodeApply(Input):
    code: Code


class LinePublic(BaseModel):
    product_id: str
    sku: str
    title: str
    quantity: int
    unit_price_minor: int
    """The current catalog price (what the totals use)."""
    subtotal_minor: int
    discount_minor: int
    total_minor: int
    price_changed: bool = False
    previous_unit_price_minor: int | None = None
    """The price the shopper saw before, when it changed; checkout waits for an acknowledgement."""
    unavailable: bool = False
    """The product left the catalog; the line is not priced and blocks checkout."""


class SavedPublic(BaseModel):
    product_id: str
    sku: str
    title: str
    quantity: int
    unit_price_minor: int


class AppliedPromotionPublic(BaseModel):
    promotion_id: str
    name: str
    kind: Kind
    saved_minor: int
    code: str | None = None
    campaign_id: str | None = None


class RejectedCode(BaseModel):
    code: str
    reason: str


class Totals(BaseModel):
    subtotal_minor: int
    discount_minor: int
    shipping_minor: int
    shipping_discount_minor: int
    total_minor: int
    saved_minor: int


class AdjustmentPublic(BaseModel):
    product_id: str
    requested: int
    kept: int
    reason: str


class CartPublic(BaseModel):
    cart_id: str | None
    cart_token: str | None = None
    """Only when a guest cart was just created: keep it and send it back as `X-Cart-Token`."""
    user_id: str | None
    currency: str
    items: list[LinePublic]
    saved: list[SavedPublic]
    codes: list[str]
    promotions: list[AppliedPromotionPublic]
    rejected_codes: list[RejectedCode]
    totals: Totals
    price_changes: bool
    adjustments: list[AdjustmentPublic] = Field(default_factory=list)
    """After a merge: quantities that were capped by stock or the per-item limit."""


# --- checkout snapshots ---------------------------------------------------------------------
class SnapshotLine(BaseModel):
    """Fields of `orders.events.OrderLine` plus what the order page shows."""

    product_id: str
    sku: str
    title: str
    category: str | None
    quantity: int
    unit_price_minor: int
    subtotal_minor: int
    discount_minor: int
    total_minor: int


class SnapshotPublic(BaseModel):
    id: str
    cart_id: str
    user_id: str
    session_id: str | None
    status: str
    """pending (waiting for the orders service), accepted, released or expired."""
    order_id: str | None
    currency: str
    lines: list[SnapshotLine]
    subtotal_minor: int
    discount_minor: int
    shipping_minor: int
    shipping_discount_minor: int
    total_minor: int
    promotions: list[AppliedPromotionPublic]
    promo_codes: list[str]
    campaign_ids: list[str]
    created_at: UtcDatetime
    expires_at: UtcDatetime


class SnapshotAccept(Input):
    order_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]


# --- promotions -----------------------------------------------------------------------------
class PromotionFields(Input):
    name: Name
    kind: Kind
    scope: Scope = Scope.CART
    targets: list[Ref] = Field(default_factory=list, max_length=500)
    """Product ids (scope product) or category slugs/paths (scope category)."""
    percent: Percent | None = None
    amount_minor: Money | None = None
    buy_quantity: int | None = Field(None, ge=1, le=100)
    get_quantity: int | None = Field(None, ge=1, le=100)
    get_percent: Percent = Decimal(100)
    min_subtotal_minor: Money = 0
    currency: Currency | None = None
    code: Code | None = None
    user_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    """A personal offer for one shopper."""
    starts_at: UtcDatetime | None = None
    ends_at: UtcDatetime | None = None
    usage_limit: int | None = Field(None, ge=1)
    per_user_limit: int | None = Field(None, ge=1)
    priority: int = Field(100, ge=0, le=10_000)
    exclusive: bool = False
    active: bool = True
    campaign_id: Ref | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = []
        if self.kind is Kind.PERCENT and self.percent is None:
            problems.append("a percent promotion needs `percent`")
        if self.kind is Kind.FIXED and not self.amount_minor:
            problems.append("a fixed promotion needs a positive `amount_minor`")
        if self.kind is Kind.BUY_X_GET_Y and not (self.buy_quantity and self.get_quantity):
            problems.append("buy-X-get-Y needs `buy_quantity` and `get_quantity`")
        if self.scope is not Scope.CART and not self.targets:
            problems.append(f"a {self.scope} promotion needs `targets`")
        if self.kind is Kind.FREE_DELIVERY and self.scope is not Scope.CART:
            problems.append("free delivery applies to the whole cart (scope cart)")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            problems.append("`ends_at` must be after `starts_at`")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class PromotionCreate(PromotionFields):
    pass


class PromotionUpdate(Input):
    """Any field of a promotion; the result must still be a consistent promotion."""

    name: Name | None = None
    targets: list[Ref] | None = None
    percent: Percent | None = None
    amount_minor: Money | None = None
    buy_quantity: int | None = Field(None, ge=1, le=100)
    get_quantity: int | None = Field(None, ge=1, le=100)
    get_percent: Percent | None = None
    min_subtotal_minor: Money | None = None
    code: Code | None = None
    starts_at: UtcDatetime | None = None
    ends_at: UtcDatetime | None = None
    usage_limit: int | None = Field(None, ge=1)
    per_user_limit: int | None = Field(None, ge=1)
    priority: int | None = Field(None, ge=0, le=10_000)
    exclusive: bool | None = None
    active: bool | None = None
    campaign_id: Ref | None = None


class PromotionPublic(PromotionFields):
    model_config = ConfigDict(extra="ignore")
    id: str
    created_at: UtcDatetime
    updated_at: UtcDatetime
    used: int = 0
    """Accepted or pending checkouts that used it."""


class PromotionList(BaseModel):
    items: list[PromotionPublic]
    total: int
