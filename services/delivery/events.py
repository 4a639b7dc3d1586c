"""Events the delivery service publishes (source `delivery`).

`shipment.delivered` is what turns an order `delivered`; `shipment.status_changed` carries every
move of the timeline for notifications (e.g. "out for delivery") and the lake.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from services.platform.events import EventData, register

SOURCE = "delivery"


class ShipmentEvent(EventData):
    shipment_id: str
    order_id: str
    user_id: str
    carrier: str
    service_level: str
    tracking_number: str


@register
class ShipmentCreated(ShipmentEvent):
    event_type = "shipment.created"
    price_minor: int = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)
    eta_min_days: int = Field(ge=0)
    eta_max_days: int = Field(ge=0)


@register
class ShipmentStatusChanged(ShipmentEvent):
    event_type = "shipment.status_changed"
    status: str
    previous_status: str
    location: str | None = None
    occurred_at: datetime


@register
class ShipmentDelivered(ShipmentEvent):
    event_type = "shipment.delivered"
    delivered_at: datetime
