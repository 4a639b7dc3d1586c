"""Use cases of the inventory service: each is one transaction that changes stock and writes its
events to the outbox together. Handlers in `api.py` call these and nothing else.

Reservations never oversell because every unit is taken by a conditional UPDATE that the
database evaluates against the row's current value (see `store.take`); a reservation that cannot
get all of its lines rolls back whole, and only then records `inventory.reservation_failed` in a
transaction of its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.inventory import domain, events
from services.inventory.domain import COMMITTED, EXPIRED, RELEASED, RESERVED, InventoryRuleError
from services.inventory.schemas import (
    AdjustmentCreate,
    ReservationCreate,
    ReservationPublic,
    ReservedLinePublic,
    StockPublic,
    SubscriptionCreate,
    WarehouseStock,
)
from services.inventory.settings import InventorySettings
from services.inventory.store import (
    INSERT_LINES,
    INSERT_RESERVATION,
    LINE_ROWS,
    RELEASE_HOLD,
    RESERVATION_ROW,
    RESERVATION_STATUS,
    SHIP_HOLD,
    SKU_LEVELS,
    SKU_TOTALS,
    TAKE,
    Adjustment,
    Reservation,
    ReservationLine,
    Sku,
    StockLevel,
    Subscription,
    adjust_on_hand,
    adjustments_of,
    claim_subscribers,
    due_reservations,
    lines_of,
    new_id,
    outbox,
    set_status,
    subscriptions_of,
    totals,
)
from services.platform.auth import Identity
from services.platform.db import Database
from services.platform.errors import NotFound

log = structlog.get_logger("inventory")
MAX_TAKE_ROUNDS = 8
"""Re-reads of a SKU's warehouses after losing a race (PostgreSQL); SQLite never needs two."""


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Short(Exception):
    sku: str
    requested: int
    available: int


@dataclass
class _Stock:
    """The SKUs of one reservation as its transaction sees them: thresholds and, per SKU, its
    warehouses' (warehouse, on_hand, reserved) rows, kept up to date with the transaction's own
    takes."""

    thresholds: dict[str, int]
    levels: dict[str, list[tuple[str, int, int]]]

    @classmethod
    def read(cls, conn: Connection, skus: list[str]) -> _Stock:
        stock = cls({}, {})
        for sku, threshold, warehouse, on_hand, reserved in conn.execute(SKU_LEVELS, {"p_skus": skus}):
            stock.thresholds[sku] = threshold
            rows = stock.levels.setdefault(sku, [])
            if warehouse is not None:
                rows.append((warehouse, on_hand, reserved))
        return stock

    def refresh(self, conn: Connection, sku: str) -> None:
        fresh = _Stock.read(conn, [sku])
        self.levels[sku] = fresh.levels.get(sku, [])

    def totals(self, sku: str) -> tuple[int, int]:
        rows = self.levels[sku]
        return sum(r[1] for r in rows), sum(r[2] for r in rows)


class Inventory:
    def __init__(self, *, db: Database, settings: InventorySettings):
        self.db = db
        self.settings = settings

    # --- stock ------------------------------------------------------------------------------
    def stocks(self, skus: Sequence[str]) -> list[StockPublic]:
        with self.db.read() as session:
            rows = session.connection().execute(SKU_LEVELS, {"p_skus": list(skus)}).all()
        out: dict[str, StockPublic] = {}
        for sku, threshold, warehouse, on_hand, reserved in rows:
            entry = out.get(sku)
            if entry is None:
                entry = out[sku] = StockPublic(sku=sku, on_hand=0, reserved=0, available=0,
                                               in_stock=False, low_stock_threshold=threshold,
                                               warehouses=[])
            if warehouse is not None:
                entry.warehouses.append(WarehouseStock(warehouse=warehouse, on_hand=on_hand,
                                                       reserved=reserved, available=on_hand - reserved))
                entry.on_hand += on_hand
                entry.reserved += reserved
        for entry in out.values():
            entry.available = entry.on_hand - entry.reserved
            entry.in_stock = entry.on_hand > entry.reserved
        return [out[sku] for sku in sorted(out)]

    def stock(self, sku: str) -> StockPublic:
        found = self.stocks([sku])
        if not found:
            raise NotFound(f"No stock is kept for SKU {sku}.", slug="unknown-sku")
        return found[0]

    def set_threshold(self, sku: str, threshold: int) -> StockPublic:
        with self.db.session() as session:
            self._sku(session, sku).low_stock_threshold = threshold
        return self.stock(sku)

    def adjust(self, sku: str, data: AdjustmentCreate, *, actor: str,
               idempotency_key: str | None = None) -> tuple[Adjustment, bool]:
        """Add or remove units with a reason (the audit trail); the first adjustment of an
        unknown SKU creates it. Returns (adjustment, created)."""
        if data.delta == 0:
            raise InventoryRuleError("delta must not be zero.", slug="validation-error", status=422)
        for attempt in range(2):
            try:
                return self._adjust(sku, data, actor=actor, idempotency_key=idempotency_key)
            except IntegrityError:  # a concurrent first adjustment created the SKU or used the key
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _adjust(self, sku: str, data: AdjustmentCreate, *, actor: str,
                idempotency_key: str | None) -> tuple[Adjustment, bool]:
        now = utcnow()
        with self.db.session() as session:
            if idempotency_key:
                seen = session.scalar(select(Adjustment).where(
                    Adjustment.idempotency_key == idempotency_key))
                if seen is not None:
                    if (seen.sku, seen.warehouse, seen.delta) != (sku, data.warehouse, data.delta):
                        raise InventoryRuleError("This Idempotency-Key was used for another "
                                                 "adjustment.", slug="idempotency-key-reused")
                    return seen, False
            row = session.get(Sku, sku)
            if row is None:
                if data.delta < 0:
                    raise NotFound(f"No stock is kept for SKU {sku}.", slug="unknown-sku")
                threshold = data.low_stock_threshold
                session.add(Sku(sku=sku, low_stock_threshold=self.settings.default_low_stock_threshold
                                if threshold is None else threshold, created_at=now))
                session.flush()
            if session.get(StockLevel, (sku, data.warehouse)) is None:
                session.add(StockLevel(sku=sku, warehouse=data.warehouse, on_hand=0, reserved=0))
                session.flush()
            on_hand = adjust_on_hand(session, sku, data.warehouse, data.delta)
            if on_hand is None:
                raise InventoryRuleError(
                    f"Removing {-data.delta} units of {sku} from {data.warehouse} would take "
                    "stock that is reserved or not there.", slug="insufficient-stock")
            adjustment = Adjustment(id=new_id(), sku=sku, warehouse=data.warehouse,
                                    delta=data.delta, on_hand_after=on_hand, reason=data.reason,
                                    actor=actor, idempotency_key=idempotency_key, created_at=now)
            session.add(adjustment)
            session.flush()
            self._after_change(session, sku, available_delta=data.delta, cause="adjustment", now=now)
            return adjustment, True

    def adjustments(self, sku: str, *, offset: int, limit: int) -> tuple[list[Adjustment], int]:
        with self.db.read() as session:
            self._sku(session, sku)
            return adjustments_of(session, sku, offset=offset, limit=limit)

    def _sku(self, session: Session, sku: str) -> Sku:
        row = session.get(Sku, sku)
        if row is None:
            raise NotFound(f"No stock is kept for SKU {sku}.", slug="unknown-sku")
        return row

    def _after_change(self, session: Session, sku: str, *, available_delta: int, cause: str,
                      now: datetime) -> None:
        """Publish the SKU's new totals, and the low-stock / back-in-stock crossings."""
        on_hand, reserved = totals(session, sku)
        threshold = self._sku(session, sku).low_stock_threshold
        self._announce(session, sku, on_hand=on_hand, reserved=reserved, threshold=threshold,
                       available_delta=available_delta, cause=cause, now=now)

    def _announce(self, session: Session, sku: str, *, on_hand: int, reserved: int,
                  threshold: int, available_delta: int, cause: str, now: datetime) -> None:
        """`_after_change` with the SKU's totals (as this transaction sees them) at hand."""
        after = on_hand - reserved
        before = after - available_delta
        outbox.publish(session, events.StockChanged(
            sku=sku, on_hand=on_hand, reserved=reserved, available=after, in_stock=after > 0,
            cause=cause), subject=sku)
        if domain.crossed_low(before=before, after=after, threshold=threshold):
            outbox.publish(session, events.LowStock(sku=sku, available=after, threshold=threshold),
                           subject=sku)
        if domain.came_back(before=before, after=after):
            for sub in claim_subscribers(session, sku, now):
                outbox.publish(session, events.BackInStock(
                    sku=sku, user_id=sub.user_id, product_id=sub.product_id, available=after),
                    subject=sku)

    # --- reservations -----------------------------------------------------------------------
    def reserve(self, data: ReservationCreate, *, user_id: str) -> tuple[ReservationPublic, bool]:
        """All lines or none, idempotent by order id. Returns (reservation, created).

        The hot path of every checkout, so it is a handful of prebuilt Core statements: one read
        of the SKUs with their warehouses, a guarded UPDATE per warehouse taken from, the inserts;
        the totals it announces are that read plus its own takes (nothing is read back)."""
        lines = domain.merge_lines((line.sku, line.quantity) for line in data.lines)
        requested = [{"sku": sku, "quantity": qty} for sku, qty in lines]
        now = utcnow()
        expires = domain.expiry(now=now, requested_ttl_s=data.ttl_seconds,
                                default_ttl_s=self.settings.reservation_ttl_s,
                                max_ttl_s=self.settings.max_reservation_ttl_s)
        try:
            with self.db.session() as session:
                conn = session.connection()
                if conn.execute(RESERVATION_STATUS, {"p_order_id": data.order_id}).first() is not None:
                    existing = session.get(Reservation, data.order_id)
                    assert existing is not None
                    return self._replay(session, existing, requested), False
                stock = _Stock.read(conn, [sku for sku, _ in lines])
                unknown = [sku for sku, _ in lines if sku not in stock.thresholds]
                if unknown:
                    raise InventoryRuleError(f"Unknown SKU(s): {', '.join(unknown)}.",
                                             slug="unknown-sku", status=422, skus=unknown)
                conn.execute(INSERT_RESERVATION, {
                    "order_id": data.order_id, "user_id": user_id, "status": RESERVED,
                    "requested": requested, "expires_at": expires, "created_at": now,
                    "updated_at": now})  # claims the order id before any stock moves
                taken: list[ReservedLinePublic] = []
                for sku, quantity in lines:
                    taken += self._take(conn, stock, sku, quantity)
                conn.execute(INSERT_LINES, [{"order_id": data.order_id, "sku": x.sku,
                                             "warehouse": x.warehouse, "quantity": x.quantity}
                                            for x in taken])
                outbox.publish(session, events.Reserved(
                    order_id=data.order_id, user_id=user_id, expires_at=expires,
                    lines=[events.ReservedLine(sku=r.sku, quantity=r.quantity, warehouse=r.warehouse)
                           for r in taken]), subject=data.order_id)
                for sku, quantity in lines:
                    on_hand, reserved = stock.totals(sku)
                    self._announce(session, sku, on_hand=on_hand, reserved=reserved,
                                   threshold=stock.thresholds[sku], available_delta=-quantity,
                                   cause="reserved", now=now)
                return ReservationPublic(order_id=data.order_id, user_id=user_id, status=RESERVED,
                                         expires_at=expires, created_at=now, lines=taken), True
        except IntegrityError:  # a concurrent request with the same order id won
            with self.db.read() as session:
                existing = session.get(Reservation, data.order_id)
                if existing is None:
                    raise
                return self._replay(session, existing, requested), False
        except _Short as short:
            self._record_failure(data.order_id, user_id, short)
            raise InventoryRuleError(
                f"Not enough stock of {short.sku}: {short.requested} requested, "
                f"{short.available} available.", slug="insufficient-stock",
                shortages=[{"sku": short.sku, "requested": short.requested,
                            "available": short.available}]) from None

    def _take(self, conn: Connection, stock: _Stock, sku: str,
              quantity: int) -> list[ReservedLinePublic]:
        need = quantity
        got: dict[str, int] = defaultdict(int)
        for round_ in range(MAX_TAKE_ROUNDS):
            if round_:  # lost a race (PostgreSQL): read the SKU's warehouses again
                stock.refresh(conn, sku)
            rows = stock.levels[sku]
            if sum(max(on_hand - reserved, 0) for _, on_hand, reserved in rows) < need:
                break
            for i, (warehouse, on_hand, reserved) in enumerate(rows):
                portion = min(need, on_hand - reserved)
                if portion <= 0:
                    continue
                now_row = conn.execute(TAKE, {"p_sku": sku, "p_warehouse": warehouse,
                                              "p_quantity": portion}).first()
                if now_row is not None:
                    rows[i] = (warehouse, now_row[0], now_row[1])
                    got[warehouse] += portion
                    need -= portion
                    if need == 0:
                        break
            if need == 0:
                break
        if need:  # what this transaction holds plus what is left is all there is
            stock.refresh(conn, sku)
            left = sum(max(on_hand - reserved, 0) for _, on_hand, reserved in stock.levels[sku])
            raise _Short(sku, quantity, left + sum(got.values()))
        return [ReservedLinePublic(sku=sku, warehouse=w, quantity=q) for w, q in sorted(got.items())]

    def _record_failure(self, order_id: str, user_id: str, short: _Short) -> None:
        with self.db.session() as session:
            outbox.publish(session, events.ReservationFailed(
                order_id=order_id, user_id=user_id, reason="insufficient-stock",
                shortages=[events.Shortage(sku=short.sku, requested=short.requested,
                                           available=short.available)]), subject=order_id)

    def _replay(self, session: Session, existing: Reservation,
                requested: list[dict[str, object]]) -> ReservationPublic:
        if existing.requested != requested:
            raise InventoryRuleError("This order id already holds a different reservation.",
                                     slug="order-id-reused")
        return self._public(existing, lines_of(session, existing.order_id))

    def _public(self, r: Reservation | None, lines: list[ReservationLine]) -> ReservationPublic:
        assert r is not None
        return ReservationPublic(
            order_id=r.order_id, user_id=r.user_id, status=r.status, expires_at=r.expires_at,
            created_at=r.created_at, lines=[ReservedLinePublic.model_validate(x) for x in lines])

    def reservation(self, order_id: str, actor: Identity) -> ReservationPublic:
        with self.db.read() as session:
            r = self._owned(session, order_id, actor)
            return self._public(r, lines_of(session, order_id))

    def _owned(self, session: Session, order_id: str, actor: Identity | None) -> Reservation:
        r = session.get(Reservation, order_id)
        if r is None or (actor is not None and not actor.is_admin and r.user_id != actor.user_id):
            raise NotFound(f"No reservation for order {order_id}.")
        return r

    def commit(self, order_id: str, actor: Identity) -> ReservationPublic:
        return self._finish(order_id, actor, COMMITTED)

    def release(self, order_id: str, actor: Identity, reason: str | None = None) -> ReservationPublic:
        return self._finish(order_id, actor, RELEASED, reason=reason)

    def _finish(self, order_id: str, actor: Identity | None, target: str,
                reason: str | None = None) -> ReservationPublic:
        now = utcnow()
        with self.db.session() as session:
            conn = session.connection()
            r = conn.execute(RESERVATION_ROW, {"p_order_id": order_id}).first()
            if r is None or (actor is not None and not actor.is_admin and r.user_id != actor.user_id):
                raise NotFound(f"No reservation for order {order_id}.")
            status, lines = r.status, None
            if domain.transition(status, target):
                if not set_status(session, order_id, expect=RESERVED, to=target, now=now):
                    # lost a race (another commit, release or the sweeper)
                    status = conn.execute(RESERVATION_STATUS, {"p_order_id": order_id}).scalar_one()
                    domain.transition(status, target)
                else:
                    lines = self._move(session, order_id, target, reason=reason, now=now)
                    status = target
            if lines is None:
                lines = [ReservedLinePublic(sku=x.sku, warehouse=x.warehouse, quantity=x.quantity)
                         for x in conn.execute(LINE_ROWS, {"p_order_id": order_id})]
            return ReservationPublic(order_id=r.order_id, user_id=r.user_id, status=status,
                                     expires_at=r.expires_at, created_at=r.created_at, lines=lines)

    def _move(self, session: Session, order_id: str, target: str, *, reason: str | None,
              now: datetime) -> list[ReservedLinePublic]:
        conn = session.connection()
        lines = [ReservedLinePublic(sku=x.sku, warehouse=x.warehouse, quantity=x.quantity)
                 for x in conn.execute(LINE_ROWS, {"p_order_id": order_id})]
        shipped = target == COMMITTED
        for line in lines:
            conn.execute(SHIP_HOLD if shipped else RELEASE_HOLD,
                         {"p_sku": line.sku, "p_warehouse": line.warehouse, "p_quantity": line.quantity})
        payload = [events.ReservedLine(sku=x.sku, quantity=x.quantity, warehouse=x.warehouse)
                   for x in lines]
        if target == COMMITTED:
            data: events.EventData = events.Committed(order_id=order_id, lines=payload)
        elif target == RELEASED:
            data = events.Released(order_id=order_id, lines=payload, reason=reason)
        else:
            data = events.ReservationExpired(order_id=order_id, lines=payload, expired_at=now)
        outbox.publish(session, data, subject=order_id)
        per_sku: dict[str, int] = defaultdict(int)
        for line in lines:
            per_sku[line.sku] += line.quantity
        if per_sku:
            sums = {row[0]: row for row in conn.execute(SKU_TOTALS, {"p_skus": list(per_sku)})}
            for sku, quantity in sorted(per_sku.items()):
                _, threshold, on_hand, reserved = sums[sku]
                self._announce(session, sku, on_hand=int(on_hand), reserved=int(reserved),
                               threshold=threshold, available_delta=0 if shipped else quantity,
                               cause=target, now=now)
        return lines

    def sweep_expired(self, now: datetime | None = None) -> int:
        """Release reservations past their expiry; each in its own transaction, so one
        failure does not hold back the others. Returns how many expired."""
        now = now or utcnow()
        with self.db.read() as session:
            due = due_reservations(session, now, self.settings.sweep_batch)
        expired = 0
        for order_id in due:
            with self.db.session() as session:
                if set_status(session, order_id, expect=RESERVED, to=EXPIRED, now=now):
                    self._move(session, order_id, EXPIRED, reason="expired", now=now)
                    expired += 1
        if expired:
            log.info("reservations_expired", count=expired, due=len(due))
        return expired

    # --- back-in-stock subscriptions --------------------------------------------------------
    def subscribe(self, user_id: str, data: SubscriptionCreate) -> tuple[Subscription, bool]:
        """Only for an out-of-stock SKU; subscribing twice is a no-op (returns created=False)."""
        try:
            with self.db.session() as session:
                self._sku(session, data.sku)
                on_hand, reserved = totals(session, data.sku)
                if on_hand > reserved:
                    raise InventoryRuleError(f"{data.sku} is in stock; no need to wait for it.",
                                             slug="in-stock")
                sub = session.scalar(select(Subscription).where(
                    Subscription.sku == data.sku, Subscription.user_id == user_id))
                if sub is not None and sub.notified_at is None:
                    return sub, False
                if sub is None:
                    sub = Subscription(id=new_id(), sku=data.sku, user_id=user_id,
                                       product_id=data.product_id, created_at=utcnow())
                    session.add(sub)
                else:  # notified before and out of stock again: wait anew
                    sub.notified_at, sub.created_at = None, utcnow()
                session.flush()
                return sub, True
        except IntegrityError:
            with self.db.read() as session:
                found = session.scalar(select(Subscription).where(
                    Subscription.sku == data.sku, Subscription.user_id == user_id))
                if found is None:
                    raise
                return found, False

    def subscriptions(self, user_id: str) -> list[Subscription]:
        with self.db.read() as session:
            return subscriptions_of(session, user_id)

    def unsubscribe(self, user_id: str, sku: str) -> None:
        with self.db.session() as session:
            sub = session.scalar(select(Subscription).where(Subscription.sku == sku,
                                                            Subscription.user_id == user_id))
            if sub is None:
                raise NotFound(f"You are not waiting for {sku}.")
            session.delete(sub)
