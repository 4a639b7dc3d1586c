"""HTTP routes of the delivery service: thin handlers over `service.Delivery`.

Shipments are booked by the orders service (an admin identity); carriers report over signed
webhooks (`/api/delivery/webhooks/{carrier}`, Standard Webhooks signature with the carrier's
secret); the tracking page by number is public.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from standardwebhooks.webhooks import Webhook

from services.delivery.carriers import CARRIERS
from services.delivery.schemas import (
    CarrierList,
    CarrierPublic,
    CarrierReport,
    Country,
    PickupPointList,
    Postcode,
    QuoteList,
    QuotePublic,
    QuoteRequest,
    ShipmentCreate,
    ShipmentList,
    ShipmentPublic,
)
from services.delivery.service import Delivery
from services.platform.auth import (
    AdminUser,
    CurrentUser,
)
from services.platform.concurrency import in_thread
from services.platform.errors import InvalidInput, NotFound, Unauthorized


async def get_delivery(request: Request) -> Delivery:
    return request.app.state.delivery


DeliveryDep = Annotated[Delivery, Depends(get_delivery)]
router = APIRouter(prefix="/api/delivery", tags=["delivery"])


@router.get("/carriers", response_model=CarrierList)
def list_carriers() -> CarrierList:
    items = [CarrierPublic(code=c.code, name=c.name, service_levels=[lv.code for lv in c.levels],
                           pickup_points=bool(c.points)) for c in CARRIERS.values()]
    return CarrierList(items=items, total=len(items))


# Routes on the checkout's path are `async def` with their work in one thread-pool hop (a sync
# route costs one for itself, one per sync dependency and one for checking its answer).
@router.post("/quotes", status_code=status.HTTP_201_CREATED, response_model=QuoteList)
async def create_quotes(body: QuoteRequest, user: CurrentUser, delivery: DeliveryDep) -> QuoteList:
    """Cost and ETA range of every carrier's services for the parcel, cheapest first."""
    items = await in_thread(delivery.quote, user.user_id, body)
    return QuoteList(items=items, total=len(items))


@router.get("/quotes/{quote_id}", response_model=QuotePublic)
async def read_quote(quote_id: str, user: CurrentUser, delivery: DeliveryDep) -> QuotePublic:
    return QuotePublic.model_validate(await in_thread(delivery.get_quote, quote_id, user))


@router.get("/pickup-points", response_model=PickupPointList)
def list_pickup_points(delivery: DeliveryDep, country: Annotated[Country, Query()],
                       postcode: Annotated[Postcode, Query()],
                       carrier: Annotated[str | None, Query(max_length=32)] = None) -> PickupPointList:
    items = delivery.pickup_points(country, postcode, carrier)
    return PickupPointList(items=items, total=len(items))


@router.post("/shipments", status_code=status.HTTP_201_CREATED, response_model=ShipmentPublic)
async def create_shipment(body: ShipmentCreate, admin: AdminUser, delivery: DeliveryDep,
                          response: Response) -> ShipmentPublic:
    """Book the quoted service and get a tracking number; one shipment per order id (a retry
    answers 200 with the same shipment)."""
    shipment, created = await in_thread(delivery.create_shipment, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return shipment


@router.get("/shipments", response_model=ShipmentList)
def list_shipments(user: CurrentUser, delivery: DeliveryDep,
                   order_id: Annotated[str, Query(max_length=64)]) -> ShipmentList:
    items = delivery.by_order(order_id, user)
    return ShipmentList(items=items, total=len(items))


@router.get("/shipments/{shipment_id}", response_model=ShipmentPublic)
def read_shipment(shipment_id: str, user: CurrentUser, delivery: DeliveryDep) -> ShipmentPublic:
    return delivery.shipment(shipment_id, user)


@router.post("/shipments/{shipment_id}/cancel", response_model=ShipmentPublic)
def cancel_shipment(shipment_id: str, admin: AdminUser, delivery: DeliveryDep) -> ShipmentPublic:
    """Only before the carrier picked the parcel up."""
    return delivery.cancel(shipment_id)


@router.get("/tracking/{tracking_number}", response_model=ShipmentPublic)
def track(tracking_number: str, delivery: DeliveryDep) -> ShipmentPublic:
    """Public tracking page data: the timeline, without who or where exactly."""
    return delivery.tracking(tracking_number)


@router.post("/webhooks/{carrier}", response_model=ShipmentPublic)
async def carrier_webhook(carrier: str, request: Request, delivery: DeliveryDep) -> ShipmentPublic:
    """A carrier's status report, signed with that carrier's secret."""
    if carrier not in delivery.carriers:
        raise NotFound(f"No carrier {carrier}.", slug="unknown-carrier")
    raw = await request.body()
    try:
        Webhook(delivery.settings.carrier_secret(carrier).encode()).verify(raw, dict(request.headers))
    except Exception as exc:  # any malformed or wrong signature
        raise Unauthorized("The webhook signature is not valid.", slug="invalid-signature",
                           headers={}) from exc
    try:
        report = CarrierReport.model_validate_json(raw)
    except ValueError as exc:
        raise InvalidInput("The carrier report is malformed.") from exc
    return await in_thread(delivery.carrier_report, carrier, report)
