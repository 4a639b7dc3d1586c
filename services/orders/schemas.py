"""Request and response models of the orders service (one family per entity)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.platform.utc import UtcDatetime

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Line = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Postcode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9 -]{2,12}$")]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ()-]{6,20}$")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=300)]
Status = Literal["pending", "awaiting_payment", "paid", "fulfilling", "shipped", "delivered",
                 "cancelled", "payment_failed", "refunded", "partially_refunded"]




class Input(BaseModel):
    """Request bodies refuse unknown fields: a typo must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Address(Input):
    recipient: Name
    line1: Name
    line2: Line | None = None
    city: Name
    region: Line | None = None
    postcode: Postcode
    country: Country
    phone: Phone | None = None


class DeliveryChoice(Input):
    quote_id: Annotated[str, StringConstraints(pattern=r"^q_[0-9a-f]{32}$")]
    pickup_point_id: Annotated[str, StringConstraints(max_length=64)] | None = None


class PaymentChoice(Input):
    method: Literal["card", "wallet", "crypto"]
    card_token: Annotated[str, StringConstraints(pattern=r"^card_[0-9a-f]{32}$")] | None = None

    @model_validator(mode="after")
    def _card_needs_token(self) -> PaymentChoice:
        if (self.method == "card") != (self.card_token is not None):
            raise ValueError("card_token is required for method 'card' and only for it")
        return self


class OrderCreate(Input):
    snapshot_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    address: Address
    delivery: DeliveryChoice
    payment: PaymentChoice


class OrderLinePublic(BaseModel):
    product_id: str
    sku: str
    title: str | None = None
    category: str | None = None
    quantity: int
    unit_price_minor: int
    discount_minor: int
    total_minor: int


class StatusChangePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    from_status: str | None
    to_status: str
    reason: str | None
    actor: str
    at: UtcDatetime


class ReturnPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    reason: str
    amount_minor: int
    status: str
    created_at: UtcDatetime


class Tracking(BaseModel):
    carrier: str | None
    service_level: str | None
    tracking_number: str | None
    url: str | None


class OrderPublic(BaseModel):
    id: str
    user_id: str
    status: str
    currency: str
    lines: list[OrderLinePublic]
    subtotal_minor: int
    discount_minor: int
    shipping_minor: int
    total_minor: int
    refunded_minor: int
    promo_codes: list[str]
    address: dict
    delivery: dict
    payment_method: str
    payment_id: str | None
    payment_action: str | None = Field(None, description="confirm_card or pay_invoice when the "
                                                         "payment waits for the shopper")
    tracking: Tracking
    cancel_reason: str | None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class OrderDetail(OrderPublic):
    history: list[StatusChangePublic]
    returns: list[ReturnPublic]
    saga: dict | None = Field(None, description="Admins only: where the checkout saga stands")


class OrderList(BaseModel):
    items: list[OrderPublic]
    total: int


class CancelRequest(Input):
    reason: Reason = "cancelled by the shopper"


class ReturnCreate(Input):
    reason: Reason
    amount_minor: int | None = Field(None, ge=1, description="Default: what is left to refund")


class AdminAction(Input):
    action: Literal["cancel", "refund", "mark_shipped", "mark_delivered", "retry"]
    reason: Reason
    amount_minor: int | None = Field(None, ge=1)


class ReorderLine(BaseModel):
    product_id: str
    sku: str
    quantity: int
    unit_price_minor: int | None = None
    previous_unit_price_minor: int | None = None
    reason: str | None = None


class ReorderResult(BaseModel):
    """What went into the cart; nothing is dropped silently."""

    added: list[ReorderLine]
    repriced: list[ReorderLine]
    unavailable: list[ReorderLine]
