"""HTTP routes of the cart service: thin handlers over `service.Carts`.

A guest's cart is found by the opaque `X-Cart-Token` header (issued in the answer that created
the cart); a signed-in shopper's by their user id. Snapshot accept/release are for the orders
service and are not exposed through the gateway.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Request, Response, status

from services.cart.promotions import PromotionBook
from services.cart.schemas import (
    CartPublic,
    CodeApply,
    ItemAdd,
    PromotionCreate,
    PromotionList,
    PromotionPublic,
    PromotionUpdate,
    QuantityUpdate,
    SnapshotAccept,
    SnapshotPublic,
)
from services.cart.service import Carts, Shopper
from services.platform.auth import AdminUser, CurrentUser, OptionalUser
from services.platform.concurrency import in_thread
from services.platform.errors import InvalidInput

TOKEN_PATTERN = r"^[A-Za-z0-9_-]{20,128}$"

async def get_carts(request: Request) -> Carts:
    return request.app.state.carts


async def get_promotions(request: Request) -> PromotionBook:
    return request.app.state.carts.promotions


async def shopper(
    user: OptionalUser,
    cart_token: Annotated[str | None, Header(alias="X-Cart-Token", pattern=TOKEN_PATTERN)] = None,
    session_id: Annotated[str | None, Header(alias="X-Session-Id", max_length=64)] = None,
) -> Shopper:
    """The signed-in user if a valid token came, else the guest holding the cart token."""
    return Shopper(user_id=user.user_id if user else None, token=cart_token, session_id=session_id)


CartsDep = Annotated[Carts, Depends(get_carts)]
PromotionsDep = Annotated[PromotionBook, Depends(get_promotions)]
ShopperDep = Annotated[Shopper, Depends(shopper)]
ProductPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
IdPath = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=128)]

router = APIRouter(prefix="/api/cart", tags=["cart"])


def _with_token(cart: CartPublic, response: Response) -> CartPublic:
    if cart.cart_token:
        response.headers["X-Cart-Token"] = cart.cart_token
    return cart


@router.get("", response_model=CartPublic)
def read_cart(who: ShopperDep, carts: CartsDep) -> CartPublic:
    """The cart re-priced now: lines, applied promotions, money saved, changed prices flagged."""
    return carts.view(who)


@router.delete("", response_model=CartPublic)
def clear_cart(who: ShopperDep, carts: CartsDep) -> CartPublic:
    return carts.clear(who)


# Routes on the checkout's path are `async def` with their work in one thread-pool hop (a sync
# route costs one for itself, one per sync dependency and one for checking its answer).
@router.post("/items", response_model=CartPublic)
async def add_item(body: ItemAdd, who: ShopperDep, carts: CartsDep, response: Response) -> CartPublic:
    """Add units of a product; a guest without a cart gets one (and its token)."""
    cart = await in_thread(carts.add_item, who, body.product_id, body.quantity)
    return _with_token(cart, response)


@router.put("/items/{product_id}", response_model=CartPublic)
def set_quantity(
    product_id: ProductPath, body: QuantityUpdate, who: ShopperDep, carts: CartsDep
) -> CartPublic:
    return carts.set_quantity(who, product_id, body.quantity)


@router.delete("/items/{product_id}", response_model=CartPublic)
def remove_item(product_id: ProductPath, who: ShopperDep, carts: CartsDep) -> CartPublic:
    return carts.remove_item(who, product_id)


@router.post("/items/{product_id}/save", response_model=CartPublic)
def save_for_later(product_id: ProductPath, who: ShopperDep, carts: CartsDep) -> CartPublic:
    return carts.save_for_later(who, product_id)


@router.post("/saved/{product_id}/move", response_model=CartPublic)
def move_to_cart(product_id: ProductPath, who: ShopperDep, carts: CartsDep) -> CartPublic:
    return carts.move_to_cart(who, product_id)


@router.delete("/saved/{product_id}", response_model=CartPublic)
def remove_saved(product_id: ProductPath, who: ShopperDep, carts: CartsDep) -> CartPublic:
    return carts.remove_saved(who, product_id)


@router.post("/prices/acknowledge", response_model=CartPublic)
def acknowledge_prices(who: ShopperDep, carts: CartsDep) -> CartPublic:
    """Accept the current prices of every line (needed before checkout after a change)."""
    return carts.acknowledge_prices(who)


@router.post("/codes", response_model=CartPublic)
def apply_code(body: CodeApply, who: ShopperDep, carts: CartsDep) -> CartPublic:
    return carts.apply_code(who, body.code)


@router.delete("/codes/{code}", response_model=CartPublic)
def remove_code(code: Annotated[str, Path(max_length=40)], who: ShopperDep, carts: CartsDep) -> CartPublic:
    return carts.remove_code(who, code.strip().upper())


@router.post("/merge", response_model=CartPublic)
def merge(who: ShopperDep, user: CurrentUser, carts: CartsDep) -> CartPublic:
    """Right after sign-in: fold the guest cart (`X-Cart-Token`) into the user's cart."""
    if not who.token:
        raise InvalidInput("Send the guest cart's X-Cart-Token.", slug="cart-token-required")
    return carts.merge(who, who.token)


@router.post("/checkout", status_code=status.HTTP_201_CREATED, response_model=SnapshotPublic)
async def checkout(
    who: ShopperDep, user: CurrentUser, carts: CartsDep, response: Response,
    idempotency_key: IdempotencyKey = None,
) -> SnapshotPublic:
    """Freeze the priced cart for the orders service; a replayed Idempotency-Key answers 200
    with the same snapshot. The cart is kept until the order accepts the snapshot."""
    snapshot, created = await in_thread(carts.checkout, who, idempotency_key)
    if not created:
        response.status_code = status.HTTP_200_OK
    return snapshot


@router.get("/snapshots/{snapshot_id}", response_model=SnapshotPublic)
async def read_snapshot(snapshot_id: IdPath, user: CurrentUser, carts: CartsDep) -> SnapshotPublic:
    return await in_thread(carts.snapshot, snapshot_id, user)


@router.post("/snapshots/{snapshot_id}/accept", response_model=SnapshotPublic)
async def accept_snapshot(snapshot_id: IdPath, body: SnapshotAccept, user: CurrentUser, carts: CartsDep,
                          idempotency_key: IdempotencyKey = None) -> SnapshotPublic:
    """Called by the orders service once the order exists: the cart loses those lines.
    Idempotent by order id."""
    return await in_thread(carts.accept, snapshot_id, body.order_id, user)


@router.post("/snapshots/{snapshot_id}/release", response_model=SnapshotPublic)
async def release_snapshot(snapshot_id: IdPath, user: CurrentUser, carts: CartsDep) -> SnapshotPublic:
    """Called by the orders service when the order failed: the cart stays as it was."""
    return await in_thread(carts.release, snapshot_id, user)


@router.get("/offers", response_model=PromotionList)
def my_offers(user: CurrentUser, promotions: PromotionsDep) -> PromotionList:
    """The signed-in shopper's personal offers."""
    items = promotions.offers_for(user.user_id)
    return PromotionList(items=items, total=len(items))


# --- promotions (admins) -------------------------------------------------------------------
@router.get("/promotions", response_model=PromotionList)
def list_promotions(admin: AdminUser, promotions: PromotionsDep) -> PromotionList:
    items = promotions.list()
    return PromotionList(items=items, total=len(items))


@router.post("/promotions", status_code=status.HTTP_201_CREATED, response_model=PromotionPublic)
def create_promotion(body: PromotionCreate, admin: AdminUser, promotions: PromotionsDep) -> PromotionPublic:
    """A promotion, promo code or personal offer (`user_id`), tagged with its `campaign_id`."""
    return promotions.create(body)


@router.get("/promotions/{promotion_id}", response_model=PromotionPublic)
def read_promotion(promotion_id: IdPath, admin: AdminUser, promotions: PromotionsDep) -> PromotionPublic:
    return promotions.get(promotion_id)


@router.patch("/promotions/{promotion_id}", response_model=PromotionPublic)
def update_promotion(promotion_id: IdPath, body: PromotionUpdate, admin: AdminUser,
                     promotions: PromotionsDep) -> PromotionPublic:
    return promotions.update(promotion_id, body)


@router.post("/promotions/{promotion_id}/activate", response_model=PromotionPublic)
def activate_promotion(promotion_id: IdPath, admin: AdminUser, promotions: PromotionsDep) -> PromotionPublic:
    return promotions.update(promotion_id, PromotionUpdate(active=True))


@router.post("/promotions/{promotion_id}/deactivate", response_model=PromotionPublic)
def deactivate_promotion(
    promotion_id: IdPath, admin: AdminUser, promotions: PromotionsDep
) -> PromotionPublic:
    return promotions.update(promotion_id, PromotionUpdate(active=False))


@router.delete("/promotions/{promotion_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_promotion(promotion_id: IdPath, admin: AdminUser, promotions: PromotionsDep) -> None:
    promotions.delete(promotion_id)

