"""Request and response models of the inventory service (one family per entity)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.inventory.domain import MAX_LINE_QUANTITY, MAX_LINES
from services.platform.utc import UtcDatetime

SkuCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
OrderId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
Warehouse = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]
ProductId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]




class Input(BaseModel):
    """Request bodies refuse unknown fields: a typo must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


class WarehouseStock(BaseModel):
    warehouse: str
    on_hand: int
    reserved: int
    available: int


class StockPublic(BaseModel):
    sku: str
    on_hand: int
    reserved: int
    available: int
    in_stock: bool
    low_stock_threshold: int
    warehouses: list[WarehouseStock]


class StockList(BaseModel):
    items: list[StockPublic]
    total: int


class StockUpdate(Input):
    low_stock_threshold: int = Field(ge=0, le=1_000_000)


class AdjustmentCreate(Input):
    delta: int = Field(ge=-1_000_000, le=1_000_000, description="Units added (+) or removed (-)")
    reason: Reason
    warehouse: Warehouse = "main"
    low_stock_threshold: int | None = Field(None, ge=0, le=1_000_000,
                                            description="Set when the SKU is created")


class AdjustmentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    sku: str
    warehouse: str
    delta: int
    on_hand_after: int
    reason: str
    actor: str
    created_at: UtcDatetime


class AdjustmentList(BaseModel):
    items: list[AdjustmentPublic]
    total: int


class LineIn(Input):
    sku: SkuCode
    quantity: int = Field(ge=1, le=MAX_LINE_QUANTITY)


class ReservationCreate(Input):
    order_id: OrderId
    lines: list[LineIn] = Field(min_length=1, max_length=MAX_LINES)
    ttl_seconds: int | None = Field(None, ge=1)


class ReservationRelease(Input):
    reason: Annotated[str, StringConstraints(max_length=200)] | None = None


class ReservedLinePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    sku: str
    warehouse: str
    quantity: int


class ReservationPublic(BaseModel):
    order_id: str
    user_id: str | None
    status: str
    expires_at: UtcDatetime
    created_at: UtcDatetime
    lines: list[ReservedLinePublic]


class SubscriptionCreate(Input):
    sku: SkuCode
    product_id: ProductId | None = None


class SubscriptionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    sku: str
    product_id: str | None
    created_at: UtcDatetime
    notified_at: UtcDatetime | None


class SubscriptionList(BaseModel):
    items: list[SubscriptionPublic]
    total: int
