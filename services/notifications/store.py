"""Tables and queries of the notifications service (nobody else touches them).

- `recipients`: the service's own projection of users (contact facts from the users stream) plus
  the preferences the shopper sets here;
- `notifications`: the notification centre (one row per message shown in the app, read/unread);
- `deliveries`: one row per message and channel, written in the consumer's transaction and sent
  by the dispatcher (a delivery outbox: rendering is done, sending may fail and be retried);
- `dev_sms`: what the embedded SMS provider "sent" (the dev outbox);
- `processed_events`: the consumer's idempotency record.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from services.platform.db import insert_or_ignore
from services.platform.outbox import processed_events_table


class Base(DeclarativeBase):
    pass


def new_id() -> str:
    return str(uuid.uuid4())


PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"


class Recipient(Base):
    __tablename__ = "recipients"
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320))
    full_name: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(8), default="en")
    phone: Mapped[str | None] = mapped_column(String(20))
    marketing_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    email_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    sms_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    push_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    categories: Mapped[dict[str, bool]] = mapped_column(JSON, default=dict)
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_created", "user_id", "created_at"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(String(36))
    event_id: Mapped[str | None] = mapped_column(String(36))
    template: Mapped[str] = mapped_column(String(50))
    category: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_due", "status", "next_attempt_at"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str | None] = mapped_column(String(36), index=True)
    event_id: Mapped[str | None] = mapped_column(String(36), index=True)
    notification_id: Mapped[str | None] = mapped_column(String(36))
    channel: Mapped[str] = mapped_column(String(10))
    template: Mapped[str] = mapped_column(String(50))
    address: Mapped[str | None] = mapped_column(String(320))
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DevSms(Base):
    __tablename__ = "dev_sms"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    to: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    reference: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


PROCESSED = processed_events_table(Base.metadata)


def recipient(session: Session, user_id: str, *, lock: bool = False) -> Recipient | None:
    query = select(Recipient).where(Recipient.user_id == user_id)
    return session.scalar(query.with_for_update() if lock else query)


def ensure_recipient(session: Session, user_id: str, defaults: dict[str, Any]) -> Recipient:
    """The recipient's row, locked, created first if missing. `INSERT .. ON CONFLICT DO NOTHING`
    because the consumer (user.registered) and the API (preferences) may create it at once."""
    insert_or_ignore(session, Recipient, {"user_id": user_id, **defaults}, conflict_on=["user_id"])
    found = recipient(session, user_id, lock=True)
    assert found is not None
    return found


def notifications_of(session: Session, user_id: str, *, unread_only: bool, offset: int,
                     limit: int) -> tuple[list[Notification], int, int]:
    """A page of the user's history (newest first), its total and the unread count."""
    mine = Notification.user_id == user_id
    unread = Notification.read_at.is_(None)
    query = select(Notification).where(mine, unread) if unread_only else select(Notification).where(mine)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    unread_count = session.scalar(select(func.count()).where(mine, unread)) or 0
    rows = session.scalars(query.order_by(Notification.created_at.desc(), Notification.id.desc())
                           .offset(offset).limit(limit))
    return list(rows), total, unread_count


def mark_read(session: Session, user_id: str, ids: list[str] | None, now: datetime) -> int:
    query = update(Notification).where(Notification.user_id == user_id,
                                       Notification.read_at.is_(None))
    if ids is not None:
        query = query.where(Notification.id.in_(ids))
    return session.execute(query.values(read_at=now)).rowcount or 0


def due_deliveries(session: Session, now: datetime, limit: int, channel: str | None = None
                   ) -> list[Delivery]:
    """Pending deliveries whose time has come, plus `sending` ones whose lease expired (the
    worker that claimed them died); claimed rows are skipped by other workers on PostgreSQL."""
    query = (select(Delivery)
             .where(Delivery.status.in_((PENDING, SENDING)), Delivery.next_attempt_at <= now)
             .order_by(Delivery.next_attempt_at).limit(limit))
    if channel is not None:
        query = query.where(Delivery.channel == channel)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def deliveries_of_event(session: Session, event_id: str) -> list[Delivery]:
    return list(session.scalars(select(Delivery).where(Delivery.event_id == event_id)
                                .order_by(Delivery.created_at, Delivery.channel)))


def opted_in_recipients(session: Session, user_ids: list[str] | None) -> list[Recipient]:
    query = select(Recipient).where(Recipient.marketing_opt_in.is_(True))
    if user_ids is not None:
        query = query.where(Recipient.user_id.in_(user_ids))
    return list(session.scalars(query.order_by(Recipient.user_id)))


def dev_sms(session: Session, limit: int) -> list[DevSms]:
    return list(session.scalars(select(DevSms).order_by(DevSms.created_at.desc()).limit(limit)))


def prune(session: Session, cutoff: datetime) -> dict[str, int]:
    """Forget finished deliveries, dev SMS and processed ids older than `cutoff` (the centre's
    notifications stay: they are the shopper's history). Processed ids older than any redelivery
    window protect nothing: the consumer skips events that old anyway (`max_event_age_s`)."""
    done = Delivery.status.in_((SENT, FAILED))
    statements = {
        "deliveries": delete(Delivery).where(done, Delivery.created_at < cutoff),
        "dev_sms": delete(DevSms).where(DevSms.created_at < cutoff),
        "processed": delete(PROCESSED).where(PROCESSED.c.processed_at < cutoff),
    }
    return {name: session.execute(stmt).rowcount or 0 for name, stmt in statements.items()}
