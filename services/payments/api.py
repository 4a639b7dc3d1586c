"""HTTP routes of the payments service: thin handlers over `service.Payments`.

Money-moving POSTs run through `IdempotentRunner` (Stripe's `Idempotency-Key` semantics); the
key is scoped to the caller, so two users can never collide on a key.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from standardwebhooks.webhooks import Webhook

from services.payments import domain
from services.payments.idempotency import IdempotentRunner, Work
from services.payments.schemas import (
    CaptureCreate,
    CardCreate,
    CardList,
    CardPublic,
    ChainConfirmation,
    Currency,
    LedgerBalance,
    PaymentConfirm,
    PaymentCreate,
    PaymentList,
    PaymentPublic,
    RefundCreate,
    TopUpCreate,
    WalletPublic,
)
from services.payments.service import Payments
from services.platform.auth import (
    AdminUser,
    CurrentUser,
    Identity,
)
from services.platform.concurrency import in_thread
from services.platform.errors import Forbidden, InvalidInput, Unauthorized


async def get_payments(request: Request) -> Payments:
    return request.app.state.payments


async def get_runner(request: Request) -> IdempotentRunner:
    return request.app.state.idempotency


PaymentsDep = Annotated[Payments, Depends(get_payments)]
RunnerDep = Annotated[IdempotentRunner, Depends(get_runner)]
KeyHeader = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=128)]
OptionalKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=128)]
PaymentPath = Annotated[str, "payment id"]

router = APIRouter(prefix="/api/payments", tags=["payments"])


def idempotent(request: Request, runner: IdempotentRunner, actor: Identity, key: str,
               body: BaseModel | None, work: Work) -> JSONResponse:
    payload: Any = body.model_dump(mode="json") if body is not None else None
    fp = domain.fingerprint(request.method, request.url.path, payload)
    code, answer, replayed = runner.run(principal=actor.user_id, key=key, fingerprint=fp, work=work)
    media = "application/problem+json" if code >= 400 else "application/json"
    return JSONResponse(answer, status_code=code, media_type=media,
                        headers={"Idempotent-Replayed": "true"} if replayed else None)


@router.post("/cards", status_code=status.HTTP_201_CREATED, response_model=CardPublic)
def add_card(body: CardCreate, user: CurrentUser, payments: PaymentsDep) -> CardPublic:
    """Check a card (Luhn, expiry, CVC) and return its token; the number is never stored."""
    return CardPublic.model_validate(payments.tokenize(user.user_id, body))


@router.get("/cards", response_model=CardList)
async def list_cards(user: CurrentUser, payments: PaymentsDep) -> CardList:
    items = [CardPublic.model_validate(c) for c in await in_thread(payments.cards, user.user_id)]
    return CardList(items=items, total=len(items))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PaymentPublic,
             responses={402: {"description": "Declined; the body carries the failed payment"}})
async def create_payment(body: PaymentCreate, request: Request, user: CurrentUser, payments: PaymentsDep,
                         runner: RunnerDep, idempotency_key: KeyHeader) -> JSONResponse:
    """Authorise (and by default capture) a card, wallet or crypto payment. (`async def` with
    the work in one thread-pool hop: a sync route costs one per sync dependency too.)"""
    if body.user_id and body.user_id != user.user_id and not user.is_admin:
        raise Forbidden("Only admins may pay on behalf of another user.")
    payer = body.user_id or user.user_id
    return await in_thread(idempotent, request, runner, user, idempotency_key, body,
                                   lambda s: payments.create(s, payer=payer, data=body))


@router.get("", response_model=PaymentList)
def list_payments(user: CurrentUser, payments: PaymentsDep,
                  order_id: Annotated[str, Query(max_length=64)]) -> PaymentList:
    items = payments.for_order(order_id, user)
    return PaymentList(items=items, total=len(items))


@router.get("/wallet", response_model=WalletPublic)
def read_wallet(user: CurrentUser, payments: PaymentsDep,
                currency: Annotated[Currency | None, Query()] = None) -> WalletPublic:
    return payments.wallet(user.user_id, currency or payments.settings.default_currency)


@router.post("/wallet/top-ups", status_code=status.HTTP_201_CREATED, response_model=WalletPublic)
def top_up(body: TopUpCreate, request: Request, user: CurrentUser, payments: PaymentsDep,
           runner: RunnerDep, idempotency_key: KeyHeader) -> JSONResponse:
    return idempotent(request, runner, user, idempotency_key, body,
                      lambda s: payments.top_up(s, user.user_id, body))


@router.get("/ledger/balance", response_model=LedgerBalance)
def ledger_balance(admin: AdminUser, payments: PaymentsDep) -> LedgerBalance:
    """Every account's balance per currency; `balanced` is the double-entry invariant."""
    ok, accounts = payments.ledger()
    return LedgerBalance(balanced=ok, accounts=accounts)


@router.post("/webhooks/chain", response_model=PaymentPublic)
async def chain_webhook(request: Request, payments: PaymentsDep) -> PaymentPublic:
    """Confirmations from the (simulated) blockchain watcher, signed like our own webhooks."""
    raw = await request.body()
    try:
        Webhook(payments.settings.chain_secret.encode()).verify(raw, dict(request.headers))
    except Exception as exc:  # any malformed or wrong signature
        raise Unauthorized("The webhook signature is not valid.", slug="invalid-signature",
                           headers={}) from exc
    try:
        data = ChainConfirmation.model_validate_json(raw)
    except ValueError as exc:
        raise InvalidInput("The confirmation is malformed.") from exc
    return await in_thread(payments.chain_confirmation, data)


@router.get("/{payment_id}", response_model=PaymentPublic)
def read_payment(payment_id: PaymentPath, user: CurrentUser, payments: PaymentsDep) -> PaymentPublic:
    return payments.payment(payment_id, user)


@router.post("/{payment_id}/confirm", response_model=PaymentPublic)
def confirm_payment(payment_id: PaymentPath, body: PaymentConfirm, request: Request,
                    user: CurrentUser, payments: PaymentsDep, runner: RunnerDep,
                    idempotency_key: OptionalKey = None) -> JSONResponse:
    """The card's extra confirmation step (sandbox code `424242`)."""
    key = idempotency_key or f"confirm:{payment_id}"
    return idempotent(request, runner, user, key, body,
                      lambda s: payments.confirm(s, payment_id, user, body.code))


@router.post("/{payment_id}/capture", response_model=PaymentPublic)
def capture_payment(payment_id: PaymentPath, request: Request, admin: AdminUser,
                    payments: PaymentsDep, runner: RunnerDep, idempotency_key: KeyHeader,
                    body: CaptureCreate | None = None) -> JSONResponse:
    amount = body.amount_minor if body else None
    return idempotent(request, runner, admin, idempotency_key, body,
                      lambda s: payments.capture(s, payment_id, amount))


@router.post("/{payment_id}/void", response_model=PaymentPublic)
def void_payment(payment_id: PaymentPath, request: Request, admin: AdminUser,
                 payments: PaymentsDep, runner: RunnerDep,
                 idempotency_key: OptionalKey = None) -> JSONResponse:
    key = idempotency_key or f"void:{payment_id}"
    return idempotent(request, runner, admin, key, None, lambda s: payments.void(s, payment_id))


@router.post("/{payment_id}/refunds", status_code=status.HTTP_201_CREATED,
             response_model=PaymentPublic)
def refund_payment(payment_id: PaymentPath, body: RefundCreate, request: Request,
                   admin: AdminUser, payments: PaymentsDep, runner: RunnerDep,
                   idempotency_key: KeyHeader) -> JSONResponse:
    """Full (no amount) or partial refund; never more than was captured."""
    return idempotent(request, runner, admin, idempotency_key, body,
                      lambda s: payments.refund(s, payment_id, body.amount_minor, body.reason))
