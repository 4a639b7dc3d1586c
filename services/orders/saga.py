"""The checkout saga, orchestrated by the orders service with its state in the orders database.

`SagaRunner.run(order_id)` takes the saga's lease and moves it step by step. Each step is an
idempotent call to a neighbour (keyed by the order id) followed by one local transaction that
records the outcome, the order's new status, its history and its events, and renews the lease;
the transaction refuses to commit if the lease was lost. A process killed anywhere leaves either
"call not made" or "call made, outcome not recorded": both are healed by making the same call
again, which is what the next runner (the saga worker of a restarted process) does once the lease
has run out.

Failures before the stock is committed compensate: the order gets its final status at once
(payment_failed or cancelled) and the saga works through the compensation plan (release stock,
void or refund, release the cart snapshot) until all of it has been done, however long the
neighbours stay down. After the commit the saga only moves forward.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.orm import Session

from services.orders import domain, events
from services.orders.clients import Neighbours, Rejected, Transient
from services.orders.settings import OrdersSettings
from services.orders.store import (
    FREE_LEASE,
    ORDER_RECORDED,
    RECORD_ORDER,
    RECORD_SAGA,
    SAGA_RECORDED,
    Order,
    Saga,
    add_history,
    claim,
    due_sagas,
    outbox,
    row_values,
)
from services.platform.db import Database
from services.platform.utc import as_utc

log = structlog.get_logger("orders.saga")
SERVICE_ACTOR = "orders-saga"
CONTINUE, RELEASED, HELD = "continue", "released", "held"


def utcnow() -> datetime:
    return datetime.now(UTC)



def order_view(order: Order) -> dict[str, Any]:
    """The plain data the neighbour clients need."""
    return {"id": order.id, "user_id": order.user_id, "total_minor": order.total_minor,
            "currency": order.currency, "payment": order.payment, "address": order.address,
            "delivery": order.delivery, "lines": order.lines, "snapshot_id": order.snapshot_id,
            "payment_id": order.payment_id, "shipment_id": order.shipment_id,
            "refunded_minor": order.refunded_minor, "status": order.status}


def set_status(session: Session, order: Order, to: str, *, actor: str, reason: str | None = None,
               legal: bool = True) -> None:
    """Move the order (checked against the state machine), with history and events."""
    if legal:
        domain.check_transition(order.status, to)
    previous, order.status, order.updated_at = order.status, to, utcnow()
    add_history(session, order_id=order.id, from_status=previous, to_status=to, reason=reason,
                actor=actor, at=order.updated_at)
    outbox.publish(session, events.OrderStatusChanged(
        order_id=order.id, user_id=order.user_id, status=to, previous_status=previous,
        reason=reason, tracking_number=order.tracking_number,
        carrier=order.delivery.get("carrier")), subject=order.id)
    if to == domain.PAID:
        outbox.publish(session, events.OrderPaid(
            order_id=order.id, user_id=order.user_id, payment_id=order.payment_id or "",
            amount_minor=order.total_minor, currency=order.currency), subject=order.id)
    elif to in (domain.CANCELLED, domain.PAYMENT_FAILED):
        outbox.publish(session, events.OrderCancelled(
            order_id=order.id, user_id=order.user_id, reason=reason or to), subject=order.id)
    elif to == domain.DELIVERED:
        outbox.publish(session, events.OrderDelivered(
            order_id=order.id, user_id=order.user_id, carrier=order.delivery.get("carrier"),
            tracking_number=order.tracking_number), subject=order.id)


def reopen_to_cancel(session: Session, saga: Saga, order: Order, reason: str, *, actor: str) -> None:
    """Cancel the order of a finished saga: the saga compensates again (cancel the shipment,
    put the stock back, refund)."""
    saga.state, saga.failure, saga.final_status = domain.COMPENSATING, reason, domain.CANCELLED
    saga.compensations = domain.compensation_plan(
        step=saga.step, committed=saga.committed, shipment=bool(order.shipment_id),
        snapshot_accepted=saga.snapshot_accepted)
    saga.attempts, saga.next_run_at = 0, utcnow()
    set_status(session, order, domain.CANCELLED, actor=actor, reason=reason)
    order.cancel_reason = reason


@dataclass
class Outcome:
    """What one step did; applied to the saga and the order in one transaction."""

    step: str | None = None  # the next step
    status: str | None = None  # the order's next status
    order_fields: dict[str, Any] = field(default_factory=dict)
    saga_fields: dict[str, Any] = field(default_factory=dict)
    wait_until: datetime | None = None
    retry: str | None = None  # a transient error: try again later
    compensate: tuple[str, str] | None = None  # (final status, reason)
    completed: bool = False
    reason: str | None = None


class _LeaseLost(Exception):
    """Another runner holds the saga now: roll back whatever this step was about to record."""


@dataclass
class Held:
    """The saga and its order as the lease holder last recorded them (detached objects)."""

    saga: Saga
    order: Order
    lost: bool = False


def new_owner() -> str:
    return f"runner-{uuid.uuid4().hex[:12]}"


class SagaRunner:
    def __init__(self, *, db: Database, settings: OrdersSettings, neighbours: Neighbours):
        self.db = db
        self.settings = settings
        self.n = neighbours

    # --- driving -------------------------------------------------------------------------------
    def run(self, order_id: str, owner: str | None = None,
            held: Held | None = None) -> Order | None:
        """Work on the saga until it waits, finishes, or meets a failure to retry later.
        `owner` is a lease the caller already holds (the request that created the saga), and
        `held` the saga and order as that caller just wrote them.

        While it holds the lease the runner keeps the saga and the order in memory: it is their
        only writer then (besides a shopper's cancel request, which every recording reads back),
        so each step costs its call and one short transaction, not a re-read of both rows.
        Returns the order as recorded, or None if the lease was lost or the run failed (the
        caller reads the database then)."""
        if owner is None:
            owner = new_owner()
            if not self._lease(order_id, owner):
                return None
        state = CONTINUE
        try:
            if held is None:
                held = self._load(order_id)
            while (state := self._advance(owner, held)) == CONTINUE:
                pass
        finally:
            if state != RELEASED:  # stopped without recording (or by an error): free the lease
                with self.db.session() as session:
                    session.connection().execute(FREE_LEASE, {"p_order_id": order_id, "p_owner": owner})
        return None if held.lost else held.order

    def _lease(self, order_id: str, owner: str) -> bool:
        now = utcnow()
        with self.db.session() as session:
            return claim(session, order_id, owner, now,
                         now + timedelta(seconds=self.settings.saga_lease_s))

    def _load(self, order_id: str) -> Held:
        with self.db.read() as session:
            saga = session.get(Saga, order_id)
            order = session.get(Order, order_id)
            assert saga is not None and order is not None
            session.expunge_all()
        return Held(saga, order)

    def _advance(self, owner: str, held: Held) -> str:
        """One step (or one compensation): CONTINUE, or stop with the lease RELEASED by the
        recording transaction or still HELD."""
        saga, order = held.saga, held.order
        if saga.state not in domain.ACTIVE_SAGA:
            return HELD
        if saga.state == domain.WAITING and as_utc(saga.next_run_at) > utcnow():  # type: ignore[operator]
            return HELD
        if self.settings.saga_step_delay_s:
            time.sleep(self.settings.saga_step_delay_s)
        if saga.state == domain.COMPENSATING:
            outcome = self._compensate_one(saga, order)
        elif saga.cancel_requested:
            outcome = Outcome(compensate=(domain.CANCELLED, saga.cancel_requested))
        else:
            outcome = self._step(saga, order)
        return self._apply(owner, held, outcome)

    def _step(self, saga: Saga, order: Order) -> Outcome:
        view = order_view(order)
        try:
            return getattr(self, f"_do_{saga.step}")(saga, view)
        except Transient as exc:
            return Outcome(retry=str(exc))
        except Rejected as exc:
            log.warning("saga_step_rejected", order_id=order.id, step=saga.step, error=str(exc))
            return Outcome(compensate=(domain.CANCELLED, f"{saga.step} refused: {exc.slug}"))

    # --- the steps -----------------------------------------------------------------------------
    def _do_reserve(self, saga: Saga, order: dict[str, Any]) -> Outcome:
        try:
            self.n.reserve(order["id"], order["lines"], self.settings.reservation_ttl_s)
        except Rejected as exc:
            if exc.slug in ("insufficient-stock", "unknown-sku"):
                return Outcome(compensate=(domain.CANCELLED, f"out of stock: {exc.body.get('detail')}"))
            raise
        return Outcome(step=domain.PAY, status=domain.AWAITING_PAYMENT, reason="stock reserved")

    def _do_pay(self, saga: Saga, order: dict[str, Any]) -> Outcome:
        code, body = self.n.pay(order)
        payment = body.get("payment", body)
        fields = {"payment_id": payment["id"]}
        if code == 402:
            return Outcome(order_fields=fields, compensate=(
                domain.PAYMENT_FAILED, f"payment failed: {body.get('code') or payment['status']}"))
        return self._payment_outcome(saga, payment, fields)

    def _do_await_payment(self, saga: Saga, order: dict[str, Any]) -> Outcome:
        payment = self.n.payment(order["payment_id"])
        return self._payment_outcome(saga, payment, {})

    def _payment_outcome(self, saga: Saga, payment: dict[str, Any], fields: dict[str, Any]) -> Outcome:
        status = payment["status"]
        if status == "captured":
            fields["payment_action"] = None
            return Outcome(step=domain.CONFIRM, status=domain.PAID, order_fields=fields,
                           reason="payment captured")
        if status in ("failed", "voided", "expired"):
            return Outcome(order_fields=fields, compensate=(
                domain.PAYMENT_FAILED, f"payment {status}: {payment.get('failure_code') or status}"))
        now = utcnow()
        deadline = as_utc(saga.payment_deadline) or now
        if now >= deadline:
            return Outcome(order_fields=fields, compensate=(
                domain.CANCELLED, "the payment was not completed in time"))
        fields["payment_action"] = payment.get("next_action")
        return Outcome(step=domain.AWAIT_PAYMENT, order_fields=fields,
                       wait_until=min(deadline, now + timedelta(seconds=5)))

    def _do_confirm(self, saga: Saga, order: dict[str, Any]) -> Outcome:
        try:
            self.n.accept_snapshot(order["snapshot_id"], order["id"])
        except Rejected as exc:  # the cart forgot or expired it: the order stands regardless
            log.warning("snapshot_not_accepted", order_id=order["id"], error=str(exc))
        return Outcome(step=domain.COMMIT, saga_fields={"snapshot_accepted": True})

    def _do_commit(self, saga: Saga, order: dict[str, Any]) -> Outcome:
        try:
            self.n.commit(order["id"])
        except Rejected as exc:
            return Outcome(compensate=(domain.CANCELLED, f"stock no longer held: {exc.slug}"))
        return Outcome(step=domain.SHIP, saga_fields={"committed": True})

    def _do_ship(self, saga: Saga, order: dict[str, Any]) -> Outcome:
        shipment = self.n.ship(order)
        return Outcome(step=domain.DONE, status=domain.FULFILLING, completed=True,
                       reason=f"shipment booked with {shipment['carrier']}",
                       order_fields={"shipment_id": shipment["id"],
                                     "tracking_number": shipment["tracking_number"]})

    # --- compensation ----------------------------------------------------------------------------
    def _compensate_one(self, saga: Saga, order: Order) -> Outcome:
        if not saga.compensations:
            return Outcome(saga_fields={"state": domain.COMPENSATED})
        action = saga.compensations[0]
        view = order_view(order)
        try:
            extra = getattr(self, f"_undo_{action}")(view, saga)
        except (Transient, Rejected) as exc:
            return Outcome(retry=f"{action}: {exc}")
        return Outcome(saga_fields={"compensations": saga.compensations[1:]}, order_fields=extra or {})

    def _undo_cancel_shipment(self, order: dict[str, Any], saga: Saga) -> None:
        if order["shipment_id"]:
            self.n.cancel_shipment(order["shipment_id"])

    def _undo_release_stock(self, order: dict[str, Any], saga: Saga) -> None:
        try:
            self.n.release(order["id"], saga.failure or "order failed")
        except Rejected as exc:
            if exc.status != 404:  # no reservation was ever made: nothing to release
                raise

    def _undo_restock(self, order: dict[str, Any], saga: Saga) -> None:
        for line in order["lines"]:
            self.n.restock(order["id"], line["sku"], line["quantity"])

    def _undo_settle_payment(self, order: dict[str, Any], saga: Saga) -> dict[str, Any] | None:
        """Void what is only authorised or pending, refund what was captured (the rest of it)."""
        refunded = order["refunded_minor"]
        for p in self.n.payments_of(order["id"]):
            if p["status"] in ("authorized", "requires_action", "pending"):
                self.n.void(p["id"])
            elif p["status"] in ("captured", "partially_refunded"):
                left = p["captured_minor"] - p["refunded_minor"]
                self.n.refund(p["id"], left, saga.failure or "order cancelled",
                              key=f"order:{order['id']}:cancel-refund:{p['id']}")
                refunded += left
        return {"refunded_minor": refunded} if refunded != order["refunded_minor"] else None

    def _undo_release_snapshot(self, order: dict[str, Any], saga: Saga) -> None:
        try:
            self.n.release_snapshot(order["snapshot_id"])
        except Rejected as exc:  # accepted meanwhile, or long gone: nothing to give back
            log.info("snapshot_not_released", order_id=order["id"], error=str(exc))

    # --- recording -----------------------------------------------------------------------------
    def _apply(self, owner: str, held: Held, out: Outcome) -> str:
        """Record the outcome in one transaction: the order's changes, history and events, and
        the saga's new state with its lease renewed, or given back when the saga stops here (one
        write fewer per run). Nothing is kept if the lease turned out to be lost."""
        now = utcnow()
        saga, order = held.saga, held.order
        before = row_values(order, ORDER_RECORDED)
        try:
            with self.db.session() as session:
                go_on = self._record(session, saga, order, out, now)
                conn = session.connection()
                row = conn.execute(RECORD_SAGA, self._saga_params(owner, saga, now, go_on)).first()
                if row is None:
                    raise _LeaseLost
                saga.cancel_requested = row[0]
                if saga.cancel_requested and saga.state == domain.COMPLETED \
                        and order.status in domain.CANCELLABLE:
                    # The shopper cancelled during the last step: the request met a saga still
                    # running, so it is this runner's to honour, now that the saga has finished.
                    reopen_to_cancel(session, saga, order, saga.cancel_requested, actor=SERVICE_ACTOR)
                    go_on = True
                    conn.execute(RECORD_SAGA, self._saga_params(owner, saga, now, go_on))
                after = row_values(order, ORDER_RECORDED)
                if after != before:
                    conn.execute(RECORD_ORDER, {"p_id": order.id,
                                                   **{f"p_{c}": v for c, v in after.items()}})
        except _LeaseLost:
            log.warning("saga_lease_lost", order_id=saga.order_id)
            held.lost = True
            return RELEASED
        return CONTINUE if go_on else RELEASED

    def _saga_params(self, owner: str, saga: Saga, now: datetime, go_on: bool) -> dict[str, Any]:
        """RECORD_SAGA's parameters: the saga as it stands, the lease renewed or given back."""
        params = {f"p_{c}": getattr(saga, c) for c in SAGA_RECORDED}
        params.update(p_order_id=saga.order_id, p_owner=owner, p_now=now,
                      p_new_owner=owner if go_on else None,
                      p_until=now + timedelta(seconds=self.settings.saga_lease_s) if go_on else None)
        return params

    def _record(self, session: Session, saga: Saga, order: Order, out: Outcome,
                now: datetime) -> bool:
        """Apply the outcome to the saga and the order; True if the saga should go on now."""
        saga.updated_at, saga.last_error = now, out.retry
        for key, value in {**out.order_fields}.items():
            setattr(order, key, value)
        for key, value in out.saga_fields.items():
            setattr(saga, key, value)
        if "refunded_minor" in out.order_fields:
            outbox.publish(session, events.OrderRefunded(
                order_id=order.id, user_id=order.user_id, amount_minor=order.refunded_minor,
                currency=order.currency, reason=saga.failure), subject=order.id)
        if out.retry is not None:
            return self._retry(session, saga, order, out.retry, now)
        if out.compensate is not None:
            self._start_compensation(session, saga, order, *out.compensate)
            return True
        if out.status is not None and out.status != order.status:
            set_status(session, order, out.status, actor=SERVICE_ACTOR, reason=out.reason)
        progressed = out.step is not None and out.step != saga.step
        if out.step is not None:
            saga.step = out.step
        saga.attempts = 0 if progressed else saga.attempts
        if out.completed:
            saga.state = domain.COMPLETED
            return False
        if out.wait_until is not None:
            saga.state, saga.next_run_at = domain.WAITING, out.wait_until
            return False
        if saga.state == domain.WAITING:
            saga.state = domain.RUNNING
        saga.next_run_at = now
        return saga.state in domain.ACTIVE_SAGA

    def _retry(self, session: Session, saga: Saga, order: Order, error: str, now: datetime) -> bool:
        saga.attempts += 1
        undoable = saga.state != domain.COMPENSATING and not saga.committed
        if undoable and saga.attempts >= self.settings.saga_max_attempts:
            final = domain.PAYMENT_FAILED if saga.step in (domain.PAY, domain.AWAIT_PAYMENT) \
                else domain.CANCELLED
            self._start_compensation(session, saga, order, final,
                                     f"{saga.step} unavailable: {error}"[:300])
            return True
        saga.next_run_at = now + domain.retry_delay(saga.attempts, base=self.settings.saga_retry_base_s,
                                                    cap=self.settings.saga_retry_max_s)
        log.warning("saga_step_retry", order_id=order.id, step=saga.step, state=saga.state,
                    attempt=saga.attempts, error=error)
        return False

    def _start_compensation(self, session: Session, saga: Saga, order: Order, final: str,
                            reason: str) -> None:
        saga.state, saga.failure, saga.final_status = domain.COMPENSATING, reason[:300], final
        saga.attempts, saga.next_run_at = 0, utcnow()
        saga.compensations = domain.compensation_plan(
            step=saga.step, committed=saga.committed, shipment=bool(order.shipment_id),
            snapshot_accepted=saga.snapshot_accepted)
        if order.status != final:
            set_status(session, order, final, actor=SERVICE_ACTOR, reason=reason[:300])
            order.cancel_reason = reason[:200]
        log.info("saga_compensating", order_id=order.id, step=saga.step, reason=reason,
                 plan=saga.compensations)


class SagaWorker:
    """Picks up every saga that is due: new ones left by a request, waiting ones whose time
    came, and those a killed process was working on (once their lease ran out)."""

    def __init__(self, runner: SagaRunner, settings: OrdersSettings):
        self.runner, self.settings = runner, settings
        self.resumed = 0

    def run_once(self, limit: int = 50) -> int:
        with self.runner.db.read() as session:
            due = due_sagas(session, utcnow(), limit)
        for order_id in due:
            try:
                self.runner.run(order_id)
            except Exception:
                log.exception("saga_run_failed", order_id=order_id)
        self.resumed += len(due)
        return len(due)

    def run(self, stop: threading.Event) -> None:
        log.info("saga_worker_started", poll_s=self.settings.saga_poll_s)
        while not stop.is_set():
            try:
                if self.run_once():
                    continue
            except Exception:
                log.exception("saga_worker_round_failed")
            stop.wait(self.settings.saga_poll_s)
