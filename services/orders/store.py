"""Tables and queries of the orders service (nobody else touches them).

The saga's state lives beside the order in the same database and changes in the same
transactions, so whatever a killed process left behind is exactly where the next one resumes.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from services.orders.domain import ACTIVE_SAGA
from services.orders.events import SOURCE
from services.platform.outbox import Outbox, outbox_table, processed_events_table


class Base(DeclarativeBase):
    pass


def new_id() -> str:
    return str(uuid.uuid4())


Money = BigInteger().with_variant(Integer, "sqlite")


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("user_id", "idempotency_key", name="uq_orders_idempotency"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(24), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    snapshot_id: Mapped[str] = mapped_column(String(64), unique=True)
    session_id: Mapped[str | None] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    lines: Mapped[list] = mapped_column(JSON)
    subtotal_minor: Mapped[int] = mapped_column(Money)
    discount_minor: Mapped[int] = mapped_column(Money)
    shipping_minor: Mapped[int] = mapped_column(Money)
    total_minor: Mapped[int] = mapped_column(Money)
    refunded_minor: Mapped[int] = mapped_column(Money, default=0)
    promo_codes: Mapped[list] = mapped_column(JSON)
    campaign_ids: Mapped[list] = mapped_column(JSON)
    address: Mapped[dict] = mapped_column(JSON)
    delivery: Mapped[dict] = mapped_column(JSON)
    payment: Mapped[dict] = mapped_column(JSON)
    payment_id: Mapped[str | None] = mapped_column(String(40))
    payment_action: Mapped[str | None] = mapped_column(String(24))
    shipment_id: Mapped[str | None] = mapped_column(String(40))
    tracking_number: Mapped[str | None] = mapped_column(String(40))
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StatusChange(Base):
    __tablename__ = "order_history"
    id: Mapped[int] = mapped_column(Money, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(String(300))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Saga(Base):
    """Where an order's saga stands. `lease_*` make one process at a time work on it."""

    __tablename__ = "sagas"
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    step: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    committed: Mapped[bool] = mapped_column(Boolean, default=False)
    snapshot_accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    cancel_requested: Mapped[str | None] = mapped_column(String(200))
    failure: Mapped[str | None] = mapped_column(String(300))
    """Why the saga compensates (what the shopper is told)."""
    final_status: Mapped[str | None] = mapped_column(String(24))
    compensations: Mapped[list] = mapped_column(JSON, default=list)
    """The plan still to run, first first."""
    payment_deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReturnRequest(Base):
    __tablename__ = "return_requests"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    reason: Mapped[str] = mapped_column(String(500))
    amount_minor: Mapped[int] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(16))  # requested | refunded | rejected
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


OUTBOX = outbox_table(Base.metadata)
PROCESSED = processed_events_table(Base.metadata)
outbox = Outbox(OUTBOX, SOURCE)


def history(session: Session, order_id: str) -> list[StatusChange]:
    query = select(StatusChange).where(StatusChange.order_id == order_id)
    return list(session.scalars(query.order_by(StatusChange.id)))


def returns_of(session: Session, order_id: str) -> list[ReturnRequest]:
    query = select(ReturnRequest).where(ReturnRequest.order_id == order_id)
    return list(session.scalars(query.order_by(ReturnRequest.created_at)))


def list_orders(session: Session, *, user_id: str | None, status: str | None, offset: int,
                limit: int) -> tuple[list[Order], int]:
    query = select(Order)
    if user_id:
        query = query.where(Order.user_id == user_id)
    if status:
        query = query.where(Order.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Order.created_at.desc(), Order.id).offset(offset).limit(limit))
    return list(rows), total


def due_sagas(session: Session, now: datetime, limit: int) -> list[str]:
    query = (select(Saga.order_id)
             .where(Saga.state.in_(ACTIVE_SAGA), Saga.next_run_at <= now,
                    or_(Saga.lease_until.is_(None), Saga.lease_until < now))
             .order_by(Saga.next_run_at).limit(limit))
    return list(session.scalars(query))


def claim(session: Session, order_id: str, owner: str, now: datetime, until: datetime) -> bool:
    """Take (or renew) the saga's lease: one conditional UPDATE, so two processes can never both
    hold it."""
    result = session.connection().execute(CLAIM, {"p_order_id": order_id, "p_owner": owner, "p_now": now,
                                     "p_until": until})
    return bool(result.rowcount)


# --- the saga's hot path: statements built once (no per-call statement building or cache-key
# work), executed with plain parameter dicts. Bind names carry a `p_` prefix because SQLAlchemy
# reserves a column's own name in SET clauses.
SAGAS, ORDERS, HISTORY = Saga.__table__, Order.__table__, StatusChange.__table__
SAGA_COLUMNS = tuple(c.key for c in SAGAS.columns)
ORDER_COLUMNS = tuple(c.key for c in ORDERS.columns)
SAGA_RECORDED = tuple(c for c in SAGA_COLUMNS
                      if c not in ("order_id", "cancel_requested", "lease_owner", "lease_until"))
"""What the lease holder writes back after a step. `cancel_requested` is the one field others
write while a saga runs (a shopper's cancel), so it is read back, never written, here."""
ORDER_RECORDED = ("status", "payment_id", "payment_action", "shipment_id", "tracking_number",
                  "refunded_minor", "cancel_reason", "updated_at")
"""The order's fields a saga step may change (nobody else changes them while it holds the lease:
every other writer of an order needs a finished saga or a delivered order)."""

_LEASE_FREE = or_(SAGAS.c.lease_until.is_(None), SAGAS.c.lease_until < bindparam("p_now"),
                  SAGAS.c.lease_owner == bindparam("p_owner"))
CLAIM = (update(SAGAS).where(SAGAS.c.order_id == bindparam("p_order_id"), _LEASE_FREE)
         .values(lease_owner=bindparam("p_owner"), lease_until=bindparam("p_until")))
RECORD_SAGA = (update(SAGAS).where(SAGAS.c.order_id == bindparam("p_order_id"), _LEASE_FREE)
               .values({**{c: bindparam(f"p_{c}") for c in SAGA_RECORDED},
                        "lease_owner": bindparam("p_new_owner"), "lease_until": bindparam("p_until")})
               .returning(SAGAS.c.cancel_requested))
"""Record a step and renew (or give back) the lease in one statement, only while the lease is
still ours; answers the shopper's cancel request, if one came meanwhile."""
RECORD_ORDER = (update(ORDERS).where(ORDERS.c.id == bindparam("p_id"))
                .values({c: bindparam(f"p_{c}") for c in ORDER_RECORDED}))
FREE_LEASE = (update(SAGAS).where(SAGAS.c.order_id == bindparam("p_order_id"),
                                  SAGAS.c.lease_owner == bindparam("p_owner"))
              .values(lease_owner=None, lease_until=None))
INSERT_ORDER = insert(ORDERS)
INSERT_SAGA = insert(SAGAS)
INSERT_HISTORY = insert(HISTORY)
ORDER_BY_KEY = select(ORDERS.c.id, ORDERS.c.request_hash).where(ORDERS.c.user_id == bindparam("p_user_id"),
                                         ORDERS.c.idempotency_key == bindparam("p_key"))


def row_values(obj: Base, columns: tuple[str, ...]) -> dict[str, object]:
    return {c: getattr(obj, c) for c in columns}


def add_history(session: Session, **values: object) -> None:
    session.connection().execute(INSERT_HISTORY, values)
