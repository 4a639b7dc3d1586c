"""HTTP routes of the inventory service: thin handlers over `service.Inventory`.

Reservation routes are for the orders service (called with the shopper's token or an admin's);
the gateway does not expose them to shoppers.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status

from services.inventory.schemas import (
    AdjustmentCreate,
    AdjustmentList,
    AdjustmentPublic,
    ReservationCreate,
    ReservationPublic,
    ReservationRelease,
    SkuCode,
    StockList,
    StockPublic,
    StockUpdate,
    SubscriptionCreate,
    SubscriptionList,
    SubscriptionPublic,
)
from services.inventory.service import Inventory
from services.platform.auth import (
    AdminUser,
    CurrentUser,
)
from services.platform.concurrency import in_thread


async def get_inventory(request: Request) -> Inventory:
    return request.app.state.inventory


InventoryDep = Annotated[Inventory, Depends(get_inventory)]
SkuPath = Annotated[str, Path(pattern=SkuCode.__metadata__[0].pattern)]
OrderPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)]

router = APIRouter(prefix="/api/inventory", tags=["inventory"])


# The routes on the checkout's path are `async def` and do their database work in one thread-pool
# hop (a sync route costs one for itself, one per sync dependency and one for checking its
# answer).
@router.get("/stock", response_model=StockList)
async def read_stocks(
    inventory: InventoryDep,
    sku: Annotated[list[SkuCode], Query(min_length=1, max_length=200)],
) -> StockList:
    """Availability of several SKUs at once (unknown SKUs are left out)."""
    items = await in_thread(inventory.stocks, sku)
    return StockList(items=items, total=len(items))


@router.get("/stock/{sku}", response_model=StockPublic)
def read_stock(sku: SkuPath, inventory: InventoryDep) -> StockPublic:
    return inventory.stock(sku)


@router.patch("/stock/{sku}", response_model=StockPublic)
def update_stock(sku: SkuPath, body: StockUpdate, admin: AdminUser, inventory: InventoryDep) -> StockPublic:
    return inventory.set_threshold(sku, body.low_stock_threshold)


@router.post("/stock/{sku}/adjustments", status_code=status.HTTP_201_CREATED,
             response_model=AdjustmentPublic)
def adjust_stock(
    sku: SkuPath, body: AdjustmentCreate, admin: AdminUser, inventory: InventoryDep,
    response: Response, idempotency_key: IdempotencyKey = None,
) -> AdjustmentPublic:
    """Add (+) or remove (-) units with a reason; a replayed Idempotency-Key answers 200."""
    adjustment, created = inventory.adjust(sku, body, actor=admin.user_id,
                                           idempotency_key=idempotency_key)
    if not created:
        response.status_code = status.HTTP_200_OK
    return AdjustmentPublic.model_validate(adjustment)


@router.get("/stock/{sku}/adjustments", response_model=AdjustmentList)
def list_adjustments(
    sku: SkuPath, admin: AdminUser, inventory: InventoryDep,
    offset: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AdjustmentList:
    rows, total = inventory.adjustments(sku, offset=offset, limit=limit)
    return AdjustmentList(items=[AdjustmentPublic.model_validate(r) for r in rows], total=total)


@router.post("/reservations", status_code=status.HTTP_201_CREATED, response_model=ReservationPublic)
async def reserve(
    body: ReservationCreate, user: CurrentUser, inventory: InventoryDep, response: Response,
    idempotency_key: IdempotencyKey = None,
) -> ReservationPublic:
    """Hold every line or none. The order id is the idempotency key: a retry answers 200 with
    the same reservation."""
    reservation, created = await in_thread(inventory.reserve, body, user_id=user.user_id)
    if not created:
        response.status_code = status.HTTP_200_OK
    return reservation


@router.get("/reservations/{order_id}", response_model=ReservationPublic)
def read_reservation(order_id: OrderPath, user: CurrentUser, inventory: InventoryDep) -> ReservationPublic:
    return inventory.reservation(order_id, user)


@router.post("/reservations/{order_id}/commit", response_model=ReservationPublic)
async def commit_reservation(order_id: OrderPath, user: CurrentUser,
                             inventory: InventoryDep) -> ReservationPublic:
    """The order is paid: the held stock leaves the warehouse. Idempotent."""
    return await in_thread(inventory.commit, order_id, user)


@router.post("/reservations/{order_id}/release", response_model=ReservationPublic)
def release_reservation(
    order_id: OrderPath, user: CurrentUser, inventory: InventoryDep,
    body: ReservationRelease | None = None,
) -> ReservationPublic:
    """The order was cancelled or failed: the held stock is sellable again. Idempotent."""
    return inventory.release(order_id, user, body.reason if body else None)


@router.post("/subscriptions", status_code=status.HTTP_201_CREATED, response_model=SubscriptionPublic)
def subscribe(
    body: SubscriptionCreate, user: CurrentUser, inventory: InventoryDep, response: Response
) -> SubscriptionPublic:
    """Be told (once) when an out-of-stock SKU is back."""
    sub, created = inventory.subscribe(user.user_id, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return SubscriptionPublic.model_validate(sub)


@router.get("/subscriptions", response_model=SubscriptionList)
def list_subscriptions(user: CurrentUser, inventory: InventoryDep) -> SubscriptionList:
    items = [SubscriptionPublic.model_validate(s) for s in inventory.subscriptions(user.user_id)]
    return SubscriptionList(items=items, total=len(items))


@router.delete("/subscriptions/{sku}", status_code=status.HTTP_204_NO_CONTENT)
def unsubscribe(sku: SkuPath, user: CurrentUser, inventory: InventoryDep) -> None:
    inventory.unsubscribe(user.user_id, sku)
