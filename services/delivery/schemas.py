"""Request and response models of the delivery service (one family per entity)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.platform.utc import UtcDatetime

Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Postcode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9 -]{2,12}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
OrderId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
UserId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]




class Input(BaseModel):
    """Request bodies refuse unknown fields: a typo must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Destination(Input):
    country: Country
    postcode: Postcode
    city: Text | None = None


class ParcelIn(Input):
    weight_g: int = Field(ge=1, le=1_000_000)
    length_cm: int = Field(ge=1, le=1_000)
    width_cm: int = Field(ge=1, le=1_000)
    height_cm: int = Field(ge=1, le=1_000)


class ItemIn(Input):
    quantity: int = Field(ge=1, le=10_000)
    weight_g: int | None = Field(None, ge=1, le=1_000_000)


class QuoteRequest(Input):
    """Either the parcel itself or the items (a box is estimated from them)."""

    destination: Destination
    parcel: ParcelIn | None = None
    items: list[ItemIn] | None = Field(None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _parcel_or_items(self) -> QuoteRequest:
        if (self.parcel is None) == (self.items is None):
            raise ValueError("give either parcel or items")
        return self


class QuotePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    user_id: str
    carrier: str
    service_level: str
    price_minor: int
    currency: str
    eta_min_days: int
    eta_max_days: int
    pickup: bool
    destination: dict
    expires_at: UtcDatetime


class QuoteList(BaseModel):
    items: list[QuotePublic]
    total: int


class PickupPointPublic(BaseModel):
    id: str
    carrier: str
    name: str
    country: str
    postcode: str


class PickupPointList(BaseModel):
    items: list[PickupPointPublic]
    total: int


class CarrierPublic(BaseModel):
    code: str
    name: str
    service_levels: list[str]
    pickup_points: bool


class CarrierList(BaseModel):
    items: list[CarrierPublic]
    total: int


class Address(Input):
    recipient: Text
    line1: Text
    line2: Annotated[str, StringConstraints(max_length=200)] | None = None
    city: Text
    postcode: Postcode
    country: Country
    phone: Annotated[str, StringConstraints(max_length=32)] | None = None


class ShipmentCreate(Input):
    order_id: OrderId
    user_id: UserId
    quote_id: Annotated[str, StringConstraints(pattern=r"^q_[0-9a-f]{32}$")]
    address: Address
    pickup_point_id: Annotated[str, StringConstraints(max_length=64)] | None = None


class TrackingEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    status: str
    carrier_status: str | None
    location: str | None
    description: str | None
    occurred_at: UtcDatetime


class ShipmentPublic(BaseModel):
    id: str
    order_id: str
    user_id: str
    carrier: str
    service_level: str
    tracking_number: str
    status: str
    address: dict
    pickup_point_id: str | None
    timeline: list[TrackingEventPublic]
    created_at: UtcDatetime
    updated_at: UtcDatetime


class ShipmentList(BaseModel):
    items: list[ShipmentPublic]
    total: int


class CarrierReport(Input):
    """A carrier's status webhook (each carrier speaks its own status words)."""

    event_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    tracking_number: Annotated[str, StringConstraints(min_length=5, max_length=40)]
    status: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    location: Annotated[str, StringConstraints(max_length=100)] | None = None
    occurred_at: datetime


class ShipmentCancel(Input):
    reason: Literal["order_cancelled", "address_problem", "other"] = "order_cancelled"
