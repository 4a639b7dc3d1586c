"""Tables and queries of the delivery service (nobody else touches them)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Integer, String, bindparam, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from services.delivery.events import SOURCE
from services.platform.outbox import Outbox, outbox_table


class Base(DeclarativeBase):
    pass


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


Money = BigInteger().with_variant(Integer, "sqlite")


class Quote(Base):
    """A priced offer the shopper may choose; the order keeps its id and copies its terms."""

    __tablename__ = "quotes"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    carrier: Mapped[str] = mapped_column(String(32))
    service_level: Mapped[str] = mapped_column(String(32))
    price_minor: Mapped[int] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    eta_min_days: Mapped[int] = mapped_column(Integer)
    eta_max_days: Mapped[int] = mapped_column(Integer)
    pickup: Mapped[bool] = mapped_column(default=False)
    destination: Mapped[dict] = mapped_column(JSON)
    parcel: Mapped[dict] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Shipment(Base):
    __tablename__ = "shipments"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    quote_id: Mapped[str] = mapped_column(ForeignKey("quotes.id"))
    carrier: Mapped[str] = mapped_column(String(32))
    service_level: Mapped[str] = mapped_column(String(32))
    tracking_number: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(24), index=True)
    address: Mapped[dict] = mapped_column(JSON)
    pickup_point_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TrackingEvent(Base):
    __tablename__ = "tracking_events"
    id: Mapped[int] = mapped_column(Money, primary_key=True, autoincrement=True)
    shipment_id: Mapped[str] = mapped_column(ForeignKey("shipments.id"), index=True)
    status: Mapped[str] = mapped_column(String(24))
    carrier_status: Mapped[str | None] = mapped_column(String(32))
    location: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(200))
    source_event_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TrackingSerial(Base):
    """One row per tracking number handed out: its autoincrement id is the serial."""

    __tablename__ = "tracking_serials"
    serial: Mapped[int] = mapped_column(Money, primary_key=True, autoincrement=True)
    carrier: Mapped[str] = mapped_column(String(32))


OUTBOX = outbox_table(Base.metadata)
outbox = Outbox(OUTBOX, SOURCE)


def timeline(session: Session, shipment_id: str) -> list[TrackingEvent]:
    query = select(TrackingEvent).where(TrackingEvent.shipment_id == shipment_id)
    return list(session.scalars(query.order_by(TrackingEvent.occurred_at, TrackingEvent.id)))


def active_shipments(session: Session, limit: int = 500) -> list[Shipment]:
    query = select(Shipment).where(Shipment.status.in_(
        ["label_created", "picked_up", "in_transit", "out_for_delivery"]))
    return list(session.scalars(query.order_by(Shipment.updated_at).limit(limit)))


# Statements of the checkout's hot path (quotes, booking), built once and run with plain
# parameters on the session's connection: no per-call statement building, no ORM unit of work.
QUOTES, SHIPMENTS = Quote.__table__, Shipment.__table__
INSERT_QUOTES = insert(QUOTES)
INSERT_SHIPMENT = insert(SHIPMENTS)
INSERT_TRACKING_EVENT = insert(TrackingEvent.__table__)
INSERT_SERIAL = insert(TrackingSerial.__table__)
SHIPMENT_OF_ORDER = select(SHIPMENTS.c.id).where(SHIPMENTS.c.order_id == bindparam("p_order_id"))
QUOTE_ROW = select(QUOTES).where(QUOTES.c.id == bindparam("p_id"))
