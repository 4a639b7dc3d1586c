"""HTTP routes of the orders service: thin handlers over `service.Orders`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from standardwebhooks.webhooks import Webhook

from services.orders.schemas import (
    AdminAction,
    CancelRequest,
    OrderCreate,
    OrderDetail,
    OrderList,
    OrderPublic,
    ReorderResult,
    ReturnCreate,
    ReturnPublic,
    Status,
)
from services.orders.service import Orders, public
from services.platform.auth import (
    AdminUser,
    CurrentUser,
    bearer_token,
)
from services.platform.concurrency import in_thread
from services.platform.errors import InvalidInput, Unauthorized


async def get_orders(request: Request) -> Orders:
    return request.app.state.orders


OrdersDep = Annotated[Orders, Depends(get_orders)]
KeyHeader = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=128)]
Offset = Annotated[int, Query(ge=0)]
Limit = Annotated[int, Query(ge=1, le=200)]

router = APIRouter(prefix="/api/orders", tags=["orders"])
admin = APIRouter(prefix="/api/orders/admin", tags=["orders admin"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OrderPublic)
async def place_order(body: OrderCreate, request: Request, user: CurrentUser, orders: OrdersDep,
                      response: Response, idempotency_key: KeyHeader) -> OrderPublic:
    """Order the cart snapshot with an address, a delivery quote and a payment method. The
    answer shows how far the checkout got (usually `fulfilling`; `awaiting_payment` with a
    `payment_action` when the shopper must confirm). Replays answer 200 with the same order.
    (The saga's calls block: the whole request runs in one thread-pool hop.)"""
    order, created = await in_thread(orders.place, user, body, idempotency_key,
                                             bearer_token(request) or "")
    if not created:
        response.status_code = status.HTTP_200_OK
    return public(order)


@router.get("", response_model=OrderList)
def my_orders(user: CurrentUser, orders: OrdersDep, status_: Annotated[Status | None, Query(
        alias="status")] = None, offset: Offset = 0, limit: Limit = 20) -> OrderList:
    rows, total = orders.list(user_id=user.user_id, status=status_, offset=offset, limit=limit)
    return OrderList(items=[public(o) for o in rows], total=total)


@router.post("/webhooks/payments", status_code=status.HTTP_204_NO_CONTENT)
async def payments_webhook(request: Request, orders: OrdersDep) -> None:
    """Signed news from the payments service (Standard Webhooks); duplicates have no effect."""
    raw = await request.body()
    try:
        payload = Webhook(orders.settings.payments_webhook_secret.encode()).verify(raw, dict(request.headers))
    except Exception as exc:  # any malformed or wrong signature
        raise Unauthorized("The webhook signature is not valid.", slug="invalid-signature",
                           headers={}) from exc
    if not isinstance(payload, dict):
        raise InvalidInput("The webhook body is not an event.")
    await in_thread(orders.payment_news, request.headers["webhook-id"], payload)


@router.get("/{order_id}", response_model=OrderDetail)
def read_order(order_id: str, user: CurrentUser, orders: OrdersDep) -> OrderDetail:
    """The order with its status timeline, returns and tracking."""
    return orders.detail(order_id, user)


@router.post("/{order_id}/cancel", response_model=OrderPublic)
def cancel_order(order_id: str, user: CurrentUser, orders: OrdersDep,
                 body: CancelRequest | None = None) -> OrderPublic:
    """Until the parcel has left: stock goes back, money is voided or refunded."""
    return public(orders.cancel(order_id, user, (body or CancelRequest()).reason))


@router.post("/{order_id}/returns", status_code=status.HTTP_201_CREATED, response_model=ReturnPublic)
def request_return(order_id: str, body: ReturnCreate, user: CurrentUser, orders: OrdersDep) -> ReturnPublic:
    return ReturnPublic.model_validate(orders.request_return(order_id, user, body))


@router.post("/{order_id}/reorder", response_model=ReorderResult)
def reorder(order_id: str, request: Request, user: CurrentUser, orders: OrdersDep) -> ReorderResult:
    """A new cart from a past order; unavailable and re-priced lines are reported."""
    return orders.reorder(order_id, user, bearer_token(request) or "")


@admin.get("", response_model=OrderList)
def all_orders(_: AdminUser, orders: OrdersDep,
               status_: Annotated[Status | None, Query(alias="status")] = None,
               user_id: Annotated[str | None, Query(max_length=64)] = None,
               offset: Offset = 0, limit: Limit = 50) -> OrderList:
    rows, total = orders.list(user_id=user_id, status=status_, offset=offset, limit=limit)
    return OrderList(items=[public(o) for o in rows], total=total)


@admin.post("/{order_id}/actions", response_model=OrderPublic)
def admin_action(order_id: str, body: AdminAction, user: AdminUser, orders: OrdersDep) -> OrderPublic:
    """cancel, refund (after delivery), mark_shipped, mark_delivered, retry; a reason is required
    and lands in the order's history."""
    return public(orders.admin_action(order_id, user, body))
