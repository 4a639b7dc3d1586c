"""HTTP routes of the delivery service: thin handlers over `service.Delivery`.

Shipments are booked by the orders service (an admin identity); carriers report over signed
webhooks (`/api/delivery/webhooks/{carrier}`, Standard Webhooks signature with the carrier's
secret); the tracking page by number is public.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, TypeVar

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
    Identity,
    bearer_token,
    current_user,
    identity_from_claims,
)
from services.platform.errors import Forbidden, InvalidInput, NotFound, Unauthorized

T = TypeVar("T")

_WORKERS = ThreadPoolExecutor(40, thread_name_prefix="delivery-work")


async def in_thread(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Blocking work off the event loop, in this module's thread pool, with the request's context
    variables (logging's request id). Does what starlette's `run_in_threadpool` does at about a
    third of its CPU per call (anyio's worker hand-off wakes threads through a Python-level
    `Condition`; the executor's queue is C), which shows on routes that take a few ms."""
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_WORKERS, call)



async def get_delivery(request: Request) -> Delivery:
    return request.app.state.delivery


async def caller(request: Request) -> Identity:
    """`platform.auth.current_user` without a thread-pool hop for a token this process has
    verified before (the usual case: FastAPI runs every sync dependency in the pool, a hop
    each); a token seen for the first time is verified in the pool (it may fetch the JWKS)."""
    token = bearer_token(request)
    claims = request.app.state.tokens.cached(token) if token else None
    if claims is None:
        return await in_thread(current_user, request)
    identity = identity_from_claims(claims)
    request.state.user_id = identity.user_id
    return identity


async def admin_caller(user: Annotated[Identity, Depends(caller)]) -> Identity:
    """`platform.auth.admin_user` on top of `caller`."""
    if not user.is_admin:
        raise Forbidden("This action needs the admin role.")
    return user


DeliveryDep = Annotated[Delivery, Depends(get_delivery)]
Caller = Annotated[Identity, Depends(caller)]
AdminCaller = Annotated[Identity, Depends(admin_caller)]
router = APIRouter(prefix="/api/delivery", tags=["delivery"])


@router.get("/carriers", response_model=CarrierList)
def list_carriers() -> CarrierList:
    items = [CarrierPublic(code=c.code, name=c.name, service_levels=[lv.code for lv in c.levels],
                           pickup_points=bool(c.points)) for c in CARRIERS.values()]
    return CarrierList(items=items, total=len(items))


# Routes on the checkout's path are `async def` with their work in one thread-pool hop (a sync
# route costs one for itself, one per sync dependency and one for checking its answer).
@router.post("/quotes", status_code=status.HTTP_201_CREATED, response_model=QuoteList)
async def create_quotes(body: QuoteRequest, user: Caller, delivery: DeliveryDep) -> QuoteList:
    """Cost and ETA range of every carrier's services for the parcel, cheapest first."""
    items = await in_thread(delivery.quote, user.user_id, body)
    return QuoteList(items=items, total=len(items))


@router.get("/quotes/{quote_id}", response_model=QuotePublic)
async def read_quote(quote_id: str, user: Caller, delivery: DeliveryDep) -> QuotePublic:
    return QuotePublic.model_validate(await in_thread(delivery.get_quote, quote_id, user))


@router.get("/pickup-points", response_model=PickupPointList)
def list_pickup_points(delivery: DeliveryDep, country: Annotated[Country, Query()],
                       postcode: Annotated[Postcode, Query()],
                       carrier: Annotated[str | None, Query(max_length=32)] = None) -> PickupPointList:
    items = delivery.pickup_points(country, postcode, carrier)
    return PickupPointList(items=items, total=len(items))


@router.post("/shipments", status_code=status.HTTP_201_CREATED, response_model=ShipmentPublic)
async def create_shipment(body: ShipmentCreate, admin: AdminCaller, delivery: DeliveryDep,
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
