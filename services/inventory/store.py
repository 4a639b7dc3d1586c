"""Tables and queries of the inventory service (nobody else touches them).

Stock is one row per (SKU, warehouse) with `on_hand` and `reserved`; available = on_hand -
reserved. Every change is a single conditional UPDATE (`... WHERE on_hand - reserved >= :qty`),
so the database itself arbitrates concurrent reservations: no application lock, no read-then-
write race, on SQLite (one writer at a time) and PostgreSQL (row locks, re-checked predicate)
alike. CHECK constraints are the last line of defence against negative or oversold stock.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from services.inventory.events import SOURCE
from services.platform.outbox import Outbox, outbox_table


class Base(DeclarativeBase):
    pass


def new_id() -> str:
    return str(uuid.uuid4())


class Sku(Base):
    __tablename__ = "skus"
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    low_stock_threshold: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class StockLevel(Base):
    __tablename__ = "stock_levels"
    __table_args__ = (
        CheckConstraint("reserved >= 0", name="ck_stock_reserved_non_negative"),
        CheckConstraint("on_hand >= reserved", name="ck_stock_not_oversold"),
    )
    sku: Mapped[str] = mapped_column(ForeignKey("skus.sku", ondelete="CASCADE"), primary_key=True)
    warehouse: Mapped[str] = mapped_column(String(32), primary_key=True)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)


class Adjustment(Base):
    """The audit trail: who changed stock by how much, why, and what it was after."""

    __tablename__ = "adjustments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    sku: Mapped[str] = mapped_column(ForeignKey("skus.sku", ondelete="CASCADE"), index=True)
    warehouse: Mapped[str] = mapped_column(String(32))
    delta: Mapped[int] = mapped_column(Integer)
    on_hand_after: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Reservation(Base):
    __tablename__ = "reservations"
    __table_args__ = (Index("ix_reservations_status_expires", "status", "expires_at"),)
    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    requested: Mapped[list] = mapped_column(JSON)
    """The lines as asked for (sorted, merged): a retry must ask for the same."""
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReservationLine(Base):
    __tablename__ = "reservation_lines"
    order_id: Mapped[str] = mapped_column(ForeignKey("reservations.order_id", ondelete="CASCADE"),
                                          primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    warehouse: Mapped[str] = mapped_column(String(32), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)


class Subscription(Base):
    """A shopper waiting for a SKU; `notified_at` is set once the back-in-stock event is out."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("sku", "user_id", name="uq_subscriptions_sku_user"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    sku: Mapped[str] = mapped_column(ForeignKey("skus.sku", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    product_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


OUTBOX = outbox_table(Base.metadata)
outbox = Outbox(OUTBOX, SOURCE)


def levels(session: Session, skus: list[str]) -> list[Row[tuple[str, str, int, int]]]:
    """(sku, warehouse, on_hand, reserved) rows read fresh (columns, not cached ORM objects), in
    warehouse order: the order reservations lock rows in."""
    query = select(StockLevel.sku, StockLevel.warehouse, StockLevel.on_hand, StockLevel.reserved)
    query = query.where(StockLevel.sku.in_(skus))
    return list(session.execute(query.order_by(StockLevel.sku, StockLevel.warehouse)))


def totals(session: Session, sku: str) -> tuple[int, int]:
    """(on_hand, reserved) over all warehouses, as this transaction sees them."""
    row = session.execute(
        select(func.coalesce(func.sum(StockLevel.on_hand), 0),
               func.coalesce(func.sum(StockLevel.reserved), 0)).where(StockLevel.sku == sku)
    ).one()
    return int(row[0]), int(row[1])


def take(session: Session, sku: str, warehouse: str, quantity: int) -> bool:
    """Reserve `quantity` in one warehouse if it is available there; the predicate is the guard."""
    result = session.execute(
        update(StockLevel)
        .where(StockLevel.sku == sku, StockLevel.warehouse == warehouse,
               StockLevel.on_hand - StockLevel.reserved >= quantity)
        .values(reserved=StockLevel.reserved + quantity)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def give_back(session: Session, sku: str, warehouse: str, quantity: int, *, shipped: bool) -> None:
    """Undo a hold (release) or turn it into a shipment (commit: stock leaves on_hand too)."""
    values = {"reserved": StockLevel.reserved - quantity}
    if shipped:
        values["on_hand"] = StockLevel.on_hand - quantity
    session.execute(
        update(StockLevel).where(StockLevel.sku == sku, StockLevel.warehouse == warehouse)
        .values(**values).execution_options(synchronize_session=False)
    )


def adjust_on_hand(session: Session, sku: str, warehouse: str, delta: int) -> int | None:
    """Change on_hand unless that would drop below what is reserved; the new on_hand or None."""
    row = session.execute(
        update(StockLevel)
        .where(StockLevel.sku == sku, StockLevel.warehouse == warehouse,
               StockLevel.on_hand + delta >= StockLevel.reserved)
        .values(on_hand=StockLevel.on_hand + delta)
        .returning(StockLevel.on_hand)
        .execution_options(synchronize_session=False)
    ).first()
    return None if row is None else int(row[0])


def claim_subscribers(session: Session, sku: str, now: datetime) -> list[Subscription]:
    """Mark every waiting subscriber notified and return them: the conditional UPDATE makes each
    subscriber's event happen once even when two restocks race."""
    ids = session.scalars(
        update(Subscription)
        .where(Subscription.sku == sku, Subscription.notified_at.is_(None))
        .values(notified_at=now)
        .returning(Subscription.id)
        .execution_options(synchronize_session=False)
    ).all()
    if not ids:
        return []
    return list(session.scalars(select(Subscription).where(Subscription.id.in_(ids))
                                .order_by(Subscription.created_at, Subscription.id)))


def due_reservations(session: Session, now: datetime, limit: int) -> list[str]:
    query = select(Reservation.order_id).where(Reservation.status == "reserved",
                                               Reservation.expires_at <= now)
    return list(session.scalars(query.order_by(Reservation.expires_at).limit(limit)))


def set_status(session: Session, order_id: str, *, expect: str, to: str, now: datetime) -> bool:
    """Move a reservation between states only from `expect`: a racing duplicate loses."""
    result = session.connection().execute(SET_STATUS, {"p_order_id": order_id, "p_expect": expect,
                                                       "p_to": to, "p_now": now})
    return result.rowcount == 1


def lines_of(session: Session, order_id: str) -> list[ReservationLine]:
    query = select(ReservationLine).where(ReservationLine.order_id == order_id)
    return list(session.scalars(query.order_by(ReservationLine.sku, ReservationLine.warehouse)))


def adjustments_of(session: Session, sku: str, *, offset: int, limit: int) -> tuple[list[Adjustment], int]:
    total = session.scalar(select(func.count()).select_from(Adjustment).where(Adjustment.sku == sku))
    query = select(Adjustment).where(Adjustment.sku == sku)
    rows = session.scalars(query.order_by(Adjustment.created_at.desc(), Adjustment.id)
                           .offset(offset).limit(limit))
    return list(rows), int(total or 0)


def subscriptions_of(session: Session, user_id: str) -> list[Subscription]:
    query = select(Subscription).where(Subscription.user_id == user_id)
    return list(session.scalars(query.order_by(Subscription.created_at, Subscription.id)))


# --- the reservation hot path: statements built once and run with plain parameters on the
# session's connection (no ORM loads, no per-call statement building). Bind names carry a `p_`
# prefix because SQLAlchemy reserves a column's own name in SET clauses.
SKUS, LEVELS = Sku.__table__, StockLevel.__table__
RESERVATIONS, LINES = Reservation.__table__, ReservationLine.__table__

SKU_LEVELS = (select(SKUS.c.sku, SKUS.c.low_stock_threshold, LEVELS.c.warehouse, LEVELS.c.on_hand,
                     LEVELS.c.reserved)
              .select_from(SKUS.outerjoin(LEVELS, LEVELS.c.sku == SKUS.c.sku))
              .where(SKUS.c.sku.in_(bindparam("p_skus", expanding=True)))
              .order_by(SKUS.c.sku, LEVELS.c.warehouse))
"""Each known SKU's threshold with its warehouses' rows (warehouse None: a SKU without any), in
the order reservations lock rows in; SKUs missing from the answer are unknown."""
SKU_TOTALS = (select(SKUS.c.sku, SKUS.c.low_stock_threshold,
                     func.coalesce(func.sum(LEVELS.c.on_hand), 0),
                     func.coalesce(func.sum(LEVELS.c.reserved), 0))
              .select_from(SKUS.outerjoin(LEVELS, LEVELS.c.sku == SKUS.c.sku))
              .where(SKUS.c.sku.in_(bindparam("p_skus", expanding=True)))
              .group_by(SKUS.c.sku, SKUS.c.low_stock_threshold))
"""(sku, threshold, on_hand, reserved) over all warehouses, as this transaction sees them."""
TAKE = (update(LEVELS)
        .where(LEVELS.c.sku == bindparam("p_sku"), LEVELS.c.warehouse == bindparam("p_warehouse"),
               LEVELS.c.on_hand - LEVELS.c.reserved >= bindparam("p_quantity"))
        .values(reserved=LEVELS.c.reserved + bindparam("p_quantity"))
        .returning(LEVELS.c.on_hand, LEVELS.c.reserved))
"""`take` for the hot path: the predicate is the guard; answers the row as it is now."""
RELEASE_HOLD = (update(LEVELS)
                .where(LEVELS.c.sku == bindparam("p_sku"), LEVELS.c.warehouse == bindparam("p_warehouse"))
                .values(reserved=LEVELS.c.reserved - bindparam("p_quantity")))
SHIP_HOLD = (update(LEVELS)
             .where(LEVELS.c.sku == bindparam("p_sku"), LEVELS.c.warehouse == bindparam("p_warehouse"))
             .values(reserved=LEVELS.c.reserved - bindparam("p_quantity"),
                     on_hand=LEVELS.c.on_hand - bindparam("p_quantity")))
RESERVATION_ROW = (select(RESERVATIONS.c.order_id, RESERVATIONS.c.user_id, RESERVATIONS.c.status,
                          RESERVATIONS.c.requested, RESERVATIONS.c.expires_at,
                          RESERVATIONS.c.created_at)
                   .where(RESERVATIONS.c.order_id == bindparam("p_order_id")))
RESERVATION_STATUS = select(RESERVATIONS.c.status).where(
    RESERVATIONS.c.order_id == bindparam("p_order_id"))
LINE_ROWS = (select(LINES.c.sku, LINES.c.warehouse, LINES.c.quantity)
             .where(LINES.c.order_id == bindparam("p_order_id"))
             .order_by(LINES.c.sku, LINES.c.warehouse))
SET_STATUS = (update(RESERVATIONS)
              .where(RESERVATIONS.c.order_id == bindparam("p_order_id"),
                     RESERVATIONS.c.status == bindparam("p_expect"))
              .values(status=bindparam("p_to"), updated_at=bindparam("p_now")))
INSERT_RESERVATION = insert(RESERVATIONS)
INSERT_LINES = insert(LINES)
