"""Use cases of the payments service. Each money movement runs inside one transaction that
changes the payment, writes its balanced ledger legs, its outbox event and (when the payment
belongs to an order) the signed webhook to the orders service, all or nothing.

Money-moving calls take the caller's session from `IdempotentRunner`, so the stored
Idempotency-Key response commits with the effect it describes.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.payments import domain, events
from services.payments.domain import PaymentRuleError
from services.payments.schemas import (
    CardCreate,
    ChainConfirmation,
    Invoice,
    PaymentCreate,
    PaymentPublic,
    RefundPublic,
    TopUpCreate,
    WalletPublic,
)
from services.payments.settings import PaymentsSettings
from services.payments.store import (
    CARD_ROW,
    INSERT_LEDGER,
    INSERT_WEBHOOK,
    Card,
    ChainEvent,
    LedgerEntry,
    Payment,
    Refund,
    Wallet,
    account_balances,
    hold_from_wallet,
    new_id,
    outbox,
    payment_for_update,
    payments_of_order,
    refunds_of,
    wallet_for_update,
)
from services.platform.auth import Identity
from services.platform.db import Database
from services.platform.errors import NotFound
from services.platform.utc import as_utc

log = structlog.get_logger("payments")


def utcnow() -> datetime:
    return datetime.now(UTC)



class Payments:
    def __init__(self, *, db: Database, settings: PaymentsSettings):
        self.db = db
        self.settings = settings

    # --- cards -----------------------------------------------------------------------------
    def tokenize(self, user_id: str, data: CardCreate) -> Card:
        """Check the card and keep only what may be kept; the number and code die here."""
        now = utcnow()
        check = domain.check_card(number=data.number, exp_month=data.exp_month,
                                  exp_year=data.exp_year, cvc=data.cvc, today=now.date())
        card = Card(token=f"card_{secrets.token_hex(16)}", user_id=user_id, brand=check.brand,
                    last4=check.last4, exp_month=data.exp_month, exp_year=data.exp_year,
                    fingerprint=domain.pan_fingerprint(data.number, self.settings.secret_key),
                    sandbox_outcome=check.outcome, created_at=now)
        with self.db.session() as session:
            session.add(card)
        log.info("card_tokenized", user_id=user_id, brand=check.brand, last4=check.last4)
        return card

    def cards(self, user_id: str) -> list[Card]:
        with self.db.read() as session:
            query = select(Card).where(Card.user_id == user_id)
            return list(session.scalars(query.order_by(Card.created_at)))

    # --- payments ----------------------------------------------------------------------------
    def create(self, session: Session, *, payer: str, data: PaymentCreate) -> tuple[int, dict]:
        """Authorise (and capture unless `capture` is false). A decline is an executed request:
        the failed payment is kept and answered as 402, replayed like any other answer."""
        now = utcnow()
        p = Payment(id=new_id("pay"), user_id=payer, order_id=data.order_id, method=data.method,
                    status=domain.AUTHORIZED, currency=data.currency, amount_minor=data.amount_minor,
                    authorized_minor=0, captured_minor=0, refunded_minor=0,
                    capture_on_authorize=data.capture, confirmations=0, created_at=now,
                    updated_at=now)
        if data.method == "card":
            self._start_card(session, p, data.card_token, now)
        elif data.card_token is not None:
            raise PaymentRuleError("card_token only goes with method 'card'.",
                                   slug="validation-error", status=422)
        elif data.method == "wallet":
            session.add(p)
            session.flush()
            self._authorize(session, p, now)
        else:
            p.status = domain.PENDING
            p.invoice_address = "sbx1q" + secrets.token_hex(19)
            p.invoice_expires_at = now + timedelta(seconds=self.settings.crypto_invoice_ttl_s)
            session.add(p)
            self._emit(session, p, events.PaymentActionRequired, action="pay_invoice")
        session.flush()
        return self._answer(session, p, 201, new=True)

    def _start_card(self, session: Session, p: Payment, token: str | None, now: datetime) -> None:
        card = session.connection().execute(CARD_ROW, {"p_token": token}).first() if token else None
        if card is None or card.user_id != p.user_id:
            raise PaymentRuleError("Unknown card token.", slug="unknown-card", status=422,
                                   errors=[{"field": "card_token", "message": "unknown"}])
        p.card_token, p.card_brand, p.card_last4 = card.token, card.brand, card.last4
        session.add(p)  # inserted once, as it ends up, by the flush in `create` (nothing that
        # follows needs the row yet: ledger legs, webhooks and events carry its id, no FK)
        if domain.card_expired(exp_month=card.exp_month, exp_year=card.exp_year, today=now.date()):
            self._fail(session, p, domain.EXPIRED)
        elif card.sandbox_outcome == domain.REQUIRES_ACTION:
            p.status = domain.REQUIRES_CONFIRMATION
            self._emit(session, p, events.PaymentActionRequired, action="confirm_card")
        elif card.sandbox_outcome != domain.SUCCESS:
            self._fail(session, p, card.sandbox_outcome)
        else:
            self._authorize(session, p, now)

    def _authorize(self, session: Session, p: Payment, now: datetime) -> None:
        if p.method == "wallet":
            if not hold_from_wallet(session, p.user_id, p.currency, p.amount_minor, now):
                self._fail(session, p, domain.INSUFFICIENT)
                return
            self._post(session, p, "hold", domain.transfer(
                domain.wallet_account(p.user_id), domain.WALLET_HOLDS, p.amount_minor))
        p.status, p.authorized_minor, p.updated_at = domain.AUTHORIZED, p.amount_minor, now
        # Held and taken in one transaction, the money is never seen held: only the capture is
        # news (Stripe, too, sends no separate authorisation event for an automatic capture).
        if p.capture_on_authorize:
            self._capture(session, p, p.amount_minor, now)
        else:
            self._emit(session, p, events.PaymentAuthorized)

    def _capture(self, session: Session, p: Payment, amount: int, now: datetime) -> None:
        amount = domain.capturable(status=p.status, authorized=p.authorized_minor, amount=amount)
        source = domain.WALLET_HOLDS if p.method == "wallet" else domain.source_account(
            p.method, p.user_id)
        self._post(session, p, "capture", domain.transfer(source, domain.SALES, amount))
        rest = p.authorized_minor - amount
        if p.method == "wallet":
            self._wallet_release(session, p, held=p.authorized_minor, back=rest, now=now)
        p.status, p.captured_minor, p.updated_at = domain.CAPTURED, amount, now
        self._emit(session, p, events.PaymentCaptured, amount_minor=amount)

    def _wallet_release(self, session: Session, p: Payment, *, held: int, back: int,
                        now: datetime) -> None:
        """The hold ends: `held` leaves the holds, `back` of it returns to the balance."""
        wallet = wallet_for_update(session, p.user_id, p.currency)
        assert wallet is not None  # a hold exists, so the wallet does
        wallet.held_minor -= held
        wallet.balance_minor += back
        wallet.updated_at = now
        if back:
            self._post(session, p, "release", domain.transfer(
                domain.WALLET_HOLDS, domain.wallet_account(p.user_id), back))

    def _fail(self, session: Session, p: Payment, code: str) -> None:
        p.status, p.failure_code = domain.FAILED, code
        p.failure_message = domain.DECLINE_MESSAGES.get(code, code.replace("_", " "))
        p.updated_at = utcnow()
        self._emit(session, p, events.PaymentFailed, reason=code)

    def confirm(self, session: Session, payment_id: str, actor: Identity, code: str) -> tuple[int, dict]:
        """The extra confirmation step of a card that asked for one."""
        p = self._owned(session, payment_id, actor, lock=True)
        if p.status != domain.REQUIRES_CONFIRMATION:
            raise PaymentRuleError(f"The payment is {p.status}; nothing to confirm.",
                                   slug=f"payment-{p.status}")
        if code == domain.CONFIRMATION_CODE:
            self._authorize(session, p, utcnow())
        else:
            self._fail(session, p, "authentication_failed")
        session.flush()
        return self._answer(session, p)

    def capture(self, session: Session, payment_id: str, amount: int | None) -> tuple[int, dict]:
        p = self._owned(session, payment_id, None, lock=True)
        self._capture(session, p, amount or p.authorized_minor, utcnow())
        session.flush()
        return self._answer(session, p)

    def void(self, session: Session, payment_id: str) -> tuple[int, dict]:
        p = self._owned(session, payment_id, None, lock=True)
        if p.status == domain.VOIDED:  # voiding twice is a no-op: compensations get retried
            return self._answer(session, p)
        domain.voidable(p.status)
        now = utcnow()
        if p.method == "wallet" and p.status == domain.AUTHORIZED:
            self._wallet_release(session, p, held=p.authorized_minor, back=p.authorized_minor,
                                 now=now)
        p.status, p.updated_at = domain.VOIDED, now
        self._emit(session, p, events.PaymentVoided)
        session.flush()
        return self._answer(session, p)

    def refund(self, session: Session, payment_id: str, amount: int | None,
               reason: str | None) -> tuple[int, dict]:
        """Full or partial; the sum of refunds never exceeds the captured amount (checked here
        under the row lock and again by a table constraint)."""
        p = self._owned(session, payment_id, None, lock=True)
        amount = domain.refundable(status=p.status, captured=p.captured_minor,
                                   refunded=p.refunded_minor, amount=amount)
        now = utcnow()
        self._post(session, p, "refund", domain.transfer(
            domain.SALES, domain.source_account(p.method, p.user_id), amount))
        if p.method == "wallet":
            wallet = wallet_for_update(session, p.user_id, p.currency)
            assert wallet is not None
            wallet.balance_minor += amount
            wallet.updated_at = now
        session.add(Refund(id=new_id("re"), payment_id=p.id, amount_minor=amount, reason=reason,
                           created_at=now))
        p.refunded_minor += amount
        p.status = domain.status_after_refund(captured=p.captured_minor, refunded=p.refunded_minor)
        p.updated_at = now
        self._emit(session, p, events.PaymentRefunded, amount_minor=amount)
        session.flush()
        return self._answer(session, p, 201)

    def chain_confirmation(self, data: ChainConfirmation) -> PaymentPublic:
        """Apply the chain watcher's report; reports are deduplicated by their event id."""
        now = utcnow()
        try:
            with self.db.session() as session:
                p = session.scalar(select(Payment).where(Payment.invoice_address == data.address)
                                   .with_for_update())
                if p is None:
                    raise NotFound("No invoice has this address.", slug="unknown-invoice")
                session.add(ChainEvent(event_id=data.event_id, created_at=now))
                session.flush()
                if p.status == domain.PENDING:
                    self._apply_chain(session, p, data, now)
                return self.public(session, p)
        except IntegrityError:  # the same report again: a single effect
            with self.db.read() as session:
                p = session.scalar(select(Payment).where(Payment.invoice_address == data.address))
                assert p is not None
                return self.public(session, p)

    def _apply_chain(self, session: Session, p: Payment, data: ChainConfirmation,
                     now: datetime) -> None:
        assert p.invoice_expires_at is not None
        if now > as_utc(p.invoice_expires_at):
            p.status, p.failure_code, p.updated_at = domain.EXPIRED_INVOICE, "invoice_expired", now
            p.failure_message = "The invoice expired before it was paid."
            self._emit(session, p, events.PaymentFailed, reason="invoice_expired")
            return
        p.confirmations = max(p.confirmations, data.confirmations)
        if data.amount_minor < p.amount_minor:
            p.failure_message = "underpaid: waiting for the full amount"
        elif p.confirmations >= self.settings.crypto_confirmations:
            p.capture_on_authorize = True
            p.failure_message = None
            self._authorize(session, p, now)
        p.updated_at = now

    # --- wallet ------------------------------------------------------------------------------
    def wallet(self, user_id: str, currency: str) -> WalletPublic:
        with self.db.read() as session:
            w = session.get(Wallet, (user_id, currency))
        return WalletPublic(currency=currency, balance_minor=w.balance_minor if w else 0,
                            held_minor=w.held_minor if w else 0)

    def top_up(self, session: Session, user_id: str, data: TopUpCreate) -> tuple[int, dict]:
        """Fund the wallet from a card (the card must authorise, as for any payment)."""
        card = session.get(Card, data.card_token)
        if card is None or card.user_id != user_id:
            raise PaymentRuleError("Unknown card token.", slug="unknown-card", status=422)
        if card.sandbox_outcome != domain.SUCCESS:
            raise PaymentRuleError("The card cannot fund a wallet: "
                                   f"{card.sandbox_outcome.replace('_', ' ')}.",
                                   slug="card-declined", status=402)
        now = utcnow()
        wallet = wallet_for_update(session, user_id, data.currency)
        if wallet is None:
            wallet = Wallet(user_id=user_id, currency=data.currency, balance_minor=0,
                            held_minor=0, updated_at=now)
            session.add(wallet)
            session.flush()
        wallet.balance_minor += data.amount_minor
        wallet.updated_at = now
        txn = new_id("txn")
        for account, amount in domain.transfer(domain.CARD_CLEARING,
                                               domain.wallet_account(user_id), data.amount_minor):
            session.add(LedgerEntry(txn_id=txn, payment_id=None, account=account,
                                    amount_minor=amount, currency=data.currency, kind="top_up",
                                    created_at=now))
        outbox.publish(session, events.WalletToppedUp(
            user_id=user_id, amount_minor=data.amount_minor, balance_minor=wallet.balance_minor,
            currency=data.currency), subject=user_id)
        session.flush()
        return 201, WalletPublic(currency=data.currency, balance_minor=wallet.balance_minor,
                                 held_minor=wallet.held_minor).model_dump(mode="json")

    # --- reads ---------------------------------------------------------------------------------
    def payment(self, payment_id: str, actor: Identity) -> PaymentPublic:
        with self.db.read() as session:
            return self.public(session, self._owned(session, payment_id, actor))

    def for_order(self, order_id: str, actor: Identity) -> list[PaymentPublic]:
        with self.db.read() as session:
            found = [p for p in payments_of_order(session, order_id)
                     if actor.is_admin or p.user_id == actor.user_id]
            return [self.public(session, p) for p in found]

    def ledger(self) -> tuple[bool, dict[str, dict[str, int]]]:
        with self.db.read() as session:
            accounts = account_balances(session)
        return all(sum(a.values()) == 0 for a in accounts.values()), accounts

    def _owned(self, session: Session, payment_id: str, actor: Identity | None, *,
               lock: bool = False) -> Payment:
        p = payment_for_update(session, payment_id) if lock else session.get(Payment, payment_id)
        if p is None or (actor is not None and not actor.is_admin and p.user_id != actor.user_id):
            raise NotFound("No such payment.", slug="unknown-payment")
        return p

    def public(self, session: Session, p: Payment, *, new: bool = False) -> PaymentPublic:
        """`new`: created in this transaction, so it has no refunds to look up."""
        invoice = None
        if p.invoice_address and p.invoice_expires_at:
            invoice = Invoice(address=p.invoice_address, amount_minor=p.amount_minor,
                              currency=p.currency, expires_at=p.invoice_expires_at,
                              confirmations=p.confirmations,
                              confirmations_required=self.settings.crypto_confirmations)
        action = {domain.REQUIRES_CONFIRMATION: "confirm_card", domain.PENDING: "pay_invoice"}
        return PaymentPublic(
            id=p.id, user_id=p.user_id, order_id=p.order_id, method=p.method, status=p.status,
            currency=p.currency, amount_minor=p.amount_minor, authorized_minor=p.authorized_minor,
            captured_minor=p.captured_minor, refunded_minor=p.refunded_minor,
            card_brand=p.card_brand, card_last4=p.card_last4, failure_code=p.failure_code,
            failure_message=p.failure_message, next_action=action.get(p.status), invoice=invoice,
            refunds=[] if new else [RefundPublic.model_validate(r) for r in refunds_of(session, p.id)],
            created_at=p.created_at, updated_at=p.updated_at)

    def _answer(self, session: Session, p: Payment, ok: int = 200, *,
                new: bool = False) -> tuple[int, dict]:
        body = self.public(session, p, new=new).model_dump(mode="json")
        if p.status == domain.FAILED:
            return 402, {"type": "https://shop.example/problems/payment-failed",
                         "title": "Payment failed", "status": 402,
                         "detail": p.failure_message or "The payment failed.",
                         "code": p.failure_code, "payment": body}
        return ok, body

    # --- money trail -----------------------------------------------------------------------------
    def _post(self, session: Session, p: Payment, kind: str, legs: list[tuple[str, int]]) -> None:
        assert domain.balanced(legs)
        txn, now = new_id("txn"), utcnow()
        session.connection().execute(INSERT_LEDGER, [
            {"txn_id": txn, "payment_id": p.id, "account": account, "amount_minor": amount,
             "currency": p.currency, "kind": kind, "created_at": now} for account, amount in legs])

    def _emit(self, session: Session, p: Payment, kind: type[events.PaymentEvent],
              **fields: object) -> None:
        """Outbox event for the bus; a signed webhook for the orders service if it's an order's."""
        data = kind(payment_id=p.id, order_id=p.order_id or "", user_id=p.user_id,
                    amount_minor=int(fields.pop("amount_minor", p.amount_minor)),  # type: ignore[call-overload]
                    currency=p.currency, method=p.method, **fields)
        event = outbox.publish(session, data, subject=p.order_id or p.id)
        if p.order_id:
            payload = event.model_dump(mode="json")
            payload["data"]["status"] = p.status
            session.connection().execute(INSERT_WEBHOOK, {
                "id": event.id, "event_type": event.type,
                "url": self.settings.effective_orders_webhook_url, "payload": payload,
                "attempts": 0, "next_attempt_at": event.occurred_at,
                "created_at": event.occurred_at})
