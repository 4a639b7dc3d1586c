"""Tables and queries of the payments service (nobody else touches them).

No column can hold a card number or a security code: a card is a token, a brand, the last four
digits and the expiry.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from services.payments.events import SOURCE
from services.platform.outbox import Outbox, outbox_table


class Base(DeclarativeBase):
    pass


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


Money = BigInteger().with_variant(Integer, "sqlite")


class Card(Base):
    __tablename__ = "cards"
    token: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    brand: Mapped[str] = mapped_column(String(20))
    last4: Mapped[str] = mapped_column(String(4))
    exp_month: Mapped[int] = mapped_column(Integer)
    exp_year: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    sandbox_outcome: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("captured_minor <= authorized_minor", name="ck_captured_le_authorized"),
        CheckConstraint("refunded_minor <= captured_minor", name="ck_refunded_le_captured"),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    order_id: Mapped[str | None] = mapped_column(String(64), index=True)
    method: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(24))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(Money)
    authorized_minor: Mapped[int] = mapped_column(Money, default=0)
    captured_minor: Mapped[int] = mapped_column(Money, default=0)
    refunded_minor: Mapped[int] = mapped_column(Money, default=0)
    capture_on_authorize: Mapped[bool] = mapped_column(default=True)
    card_token: Mapped[str | None] = mapped_column(ForeignKey("cards.token"))
    card_brand: Mapped[str | None] = mapped_column(String(20))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    failure_code: Mapped[str | None] = mapped_column(String(40))
    failure_message: Mapped[str | None] = mapped_column(String(200))
    invoice_address: Mapped[str | None] = mapped_column(String(64), unique=True)
    invoice_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    confirmations: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Refund(Base):
    __tablename__ = "refunds"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(Money)
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LedgerEntry(Base):
    """One leg of a balanced transaction: debit > 0, credit < 0, legs of a `txn_id` sum to 0."""

    __tablename__ = "ledger_entries"
    id: Mapped[int] = mapped_column(Money, primary_key=True, autoincrement=True)
    txn_id: Mapped[str] = mapped_column(String(40), index=True)
    payment_id: Mapped[str | None] = mapped_column(String(40), index=True)
    account: Mapped[str] = mapped_column(String(100), index=True)
    amount_minor: Mapped[int] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(24))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Wallet(Base):
    __tablename__ = "wallets"
    __table_args__ = (
        CheckConstraint("balance_minor >= 0", name="ck_wallet_balance_nonnegative"),
        CheckConstraint("held_minor >= 0", name="ck_wallet_held_nonnegative"),
    )
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    balance_minor: Mapped[int] = mapped_column(Money, default=0)
    held_minor: Mapped[int] = mapped_column(Money, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IdempotencyKey(Base):
    """Stripe's semantics: the first request with a key runs; its response is stored and
    replayed for the same key and body; another body under the key is a conflict."""

    __tablename__ = "idempotency_keys"
    principal: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(12))  # in_progress | done
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[dict | None] = mapped_column(JSON)
    locked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebhookDelivery(Base):
    """A signed POST to the orders service, written with the state change it reports."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(60))
    url: Mapped[str] = mapped_column(String(500))
    payload: Mapped[dict] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    dead_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ChainEvent(Base):
    """Chain confirmations already applied (the watcher delivers at least once)."""

    __tablename__ = "chain_events"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


OUTBOX = outbox_table(Base.metadata)
outbox = Outbox(OUTBOX, SOURCE)


def payment_for_update(session: Session, payment_id: str) -> Payment | None:
    return session.scalar(select(Payment).where(Payment.id == payment_id).with_for_update())


def payments_of_order(session: Session, order_id: str) -> list[Payment]:
    query = select(Payment).where(Payment.order_id == order_id)
    return list(session.scalars(query.order_by(Payment.created_at, Payment.id)))


def refunds_of(session: Session, payment_id: str) -> list[Refund]:
    query = select(Refund).where(Refund.payment_id == payment_id)
    return list(session.scalars(query.order_by(Refund.created_at, Refund.id)))


def account_balances(session: Session) -> dict[str, dict[str, int]]:
    rows = session.execute(select(LedgerEntry.currency, LedgerEntry.account,
                                  func.sum(LedgerEntry.amount_minor))
                           .group_by(LedgerEntry.currency, LedgerEntry.account))
    out: dict[str, dict[str, int]] = {}
    for currency, account, total in rows:
        out.setdefault(currency, {})[account] = int(total)
    return out


def wallet_for_update(session: Session, user_id: str, currency: str) -> Wallet | None:
    return session.scalar(select(Wallet).where(Wallet.user_id == user_id,
                                               Wallet.currency == currency).with_for_update())


def hold_from_wallet(session: Session, user_id: str, currency: str, amount: int,
                     now: datetime) -> bool:
    """Move `amount` from balance to held if (and only if) the balance covers it: one
    conditional UPDATE, so concurrent payments can never overdraw a wallet."""
    result = session.execute(
        update(Wallet)
        .where(Wallet.user_id == user_id, Wallet.currency == currency,
               Wallet.balance_minor >= amount)
        .values(balance_minor=Wallet.balance_minor - amount,
                held_minor=Wallet.held_minor + amount, updated_at=now))
    return bool(result.rowcount)


WEBHOOK_DUE = (WebhookDelivery.delivered_at.is_(None), WebhookDelivery.dead_at.is_(None),
               WebhookDelivery.next_attempt_at <= bindparam("now"))
"""A delivery to attempt at `now`: not delivered, not parked, its retry time come."""


def due_webhooks(session: Session, now: datetime, limit: int) -> list[WebhookDelivery]:
    query = (select(WebhookDelivery).where(*WEBHOOK_DUE)
             .order_by(WebhookDelivery.next_attempt_at).limit(limit))
    return list(session.scalars(query, {"now": now}))


# Statements of the payment hot path, built once (no per-call statement building or cache-key
# work) and run with plain parameters on the session's connection.
KEYS = IdempotencyKey.__table__
INSERT_LEDGER = insert(LedgerEntry.__table__)
INSERT_WEBHOOK = insert(WebhookDelivery.__table__)
INSERT_KEY = insert(KEYS)
KEY_ROW = select(KEYS.c.fingerprint, KEYS.c.state, KEYS.c.response_status, KEYS.c.response_body,
                 KEYS.c.locked_at).where(KEYS.c.principal == bindparam("p_principal"),
                                         KEYS.c.key == bindparam("p_key"))
KEY_DONE = (update(KEYS).where(KEYS.c.principal == bindparam("p_principal"),
                               KEYS.c.key == bindparam("p_key"))
            .values(state="done", response_status=bindparam("p_status"),
                    response_body=bindparam("p_body")))
CARD_ROW = select(Card.__table__).where(Card.__table__.c.token == bindparam("p_token"))
