"""Use cases of the orders service. Placing an order is one transaction (the order, its first
history line, its saga and `order.placed`); the saga then runs in the request and, for whatever
is left (a wait, a retry, a killed process), in the saga worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.orders import domain, events
from services.orders.clients import Neighbours, Rejected, Transient
from services.orders.domain import OrderRuleError
from services.orders.saga import Held, SagaRunner, new_owner, reopen_to_cancel, set_status
from services.orders.schemas import (
    AdminAction,
    OrderCreate,
    OrderDetail,
    OrderLinePublic,
    OrderPublic,
    ReorderLine,
    ReorderResult,
    ReturnCreate,
    ReturnPublic,
    StatusChangePublic,
    Tracking,
)
from services.orders.settings import OrdersSettings
from services.orders.store import (
    INSERT_ORDER,
    INSERT_SAGA,
    ORDER_BY_KEY,
    ORDER_COLUMNS,
    PROCESSED,
    SAGA_COLUMNS,
    Order,
    ReturnRequest,
    Saga,
    StatusChange,
    add_history,
    claim,
    history,
    list_orders,
    new_id,
    outbox,
    returns_of,
    row_values,
)
from services.platform.auth import Identity
from services.platform.db import Database
from services.platform.errors import Conflict, InvalidInput, NotFound, Unavailable
from services.platform.utc import as_utc

log = structlog.get_logger("orders")


def utcnow() -> datetime:
    return datetime.now(UTC)



class Orders:
    def __init__(self, *, db: Database, settings: OrdersSettings, neighbours: Neighbours,
                 runner: SagaRunner):
        self.db, self.settings, self.n, self.runner = db, settings, neighbours, runner

    # --- placing -------------------------------------------------------------------------------
    def place(self, user: Identity, data: OrderCreate, key: str,
              shopper_token: str) -> tuple[Order, bool]:
        """Same key and body -> the same order; same key, other body -> 409; concurrent
        submissions race on a unique (user, key) constraint, so exactly one order exists."""
        fingerprint = domain.request_fingerprint(data.model_dump(mode="json"))
        existing = self._by_key(user.user_id, key)
        if existing is not None:
            return self._replay(existing, fingerprint), False
        try:
            snapshot = self._snapshot(data.snapshot_id, user)
            quote = self._quote(data, user, snapshot["currency"])
            if data.payment.card_token and not self.n.card_owned(user.user_id, data.payment.card_token,
                                                                  shopper_token):
                raise InvalidInput("Unknown card; add the card again.", slug="unknown-card")
        except Transient as exc:
            raise Unavailable("A service the checkout needs is not answering; try again.",
                              slug="checkout-unavailable", headers={"Retry-After": "2"}) from exc
        order = self._new_order(user, data, key, fingerprint, snapshot, quote)
        owner = new_owner()  # the saga is born leased to this request: the worker leaves it be
        try:
            saga = self._insert(order, owner)
        except IntegrityError:
            existing = self._by_key(user.user_id, key)
            if existing is None:
                raise Conflict("This cart snapshot has already been ordered.",
                               slug="snapshot-already-ordered") from None
            return self._replay(existing, fingerprint), False
        recorded = self._run_saga(order.id, owner, Held(saga, order))
        return recorded or self.get(order.id, None), True

    def _by_key(self, user_id: str, key: str) -> Order | None:
        with self.db.read() as session:
            found = session.connection().execute(ORDER_BY_KEY, {"p_user_id": user_id, "p_key": key}).first()
            return None if found is None else session.get(Order, found.id)

    @staticmethod
    def _replay(order: Order, fingerprint: str) -> Order:
        if order.request_hash != fingerprint:
            raise Conflict("This Idempotency-Key was already used for a different order.",
                           slug="idempotency-key-reused")
        return order

    def _snapshot(self, snapshot_id: str, user: Identity) -> dict[str, Any]:
        try:
            snap = self.n.snapshot(snapshot_id)
        except Rejected as exc:
            if exc.status in (404, 422):
                raise InvalidInput("Unknown cart snapshot; check out the cart again.",
                                   slug="unknown-snapshot") from exc
            raise
        if snap["user_id"] != user.user_id:
            raise InvalidInput("Unknown cart snapshot; check out the cart again.", slug="unknown-snapshot")
        if snap["status"] != "pending":
            raise Conflict(f"The cart snapshot is {snap['status']}; check out the cart again.",
                           slug=f"snapshot-{snap['status']}")
        if not snap["lines"]:
            raise InvalidInput("The cart is empty.", slug="empty-cart")
        return snap

    def _quote(self, data: OrderCreate, user: Identity, currency: str) -> dict[str, Any]:
        try:
            quote = self.n.quote(data.delivery.quote_id)
        except Rejected as exc:
            raise InvalidInput("Unknown delivery option; ask for delivery quotes again.",
                               slug="unsupported-delivery-option") from exc
        if quote["user_id"] != user.user_id:
            raise InvalidInput("Unknown delivery option; ask for delivery quotes again.",
                               slug="unsupported-delivery-option")
        problems = []
        if as_utc(datetime.fromisoformat(quote["expires_at"])) < utcnow():
            problems.append("the delivery quote has expired")
        if quote["destination"]["country"] != data.address.country:
            problems.append("the delivery option was quoted for another country")
        if quote["currency"] != currency:
            problems.append("the delivery option is priced in another currency")
        if quote["pickup"] and not data.delivery.pickup_point_id:
            problems.append("this delivery option needs a pickup point")
        if problems:
            raise InvalidInput("Unsupported delivery option: " + "; ".join(problems) + ".",
                               slug="unsupported-delivery-option")
        return quote

    def _new_order(self, user: Identity, data: OrderCreate, key: str, fingerprint: str,
                   snap: dict[str, Any], quote: dict[str, Any]) -> Order:
        now = utcnow()
        money = domain.totals(subtotal=snap["subtotal_minor"], discount=snap["discount_minor"],
                              quote_price=quote["price_minor"],
                              shipping_discount=snap.get("shipping_discount_minor", 0))
        lines = [{k: line.get(k) for k in ("product_id", "sku", "title", "category", "quantity",
                                            "unit_price_minor", "discount_minor", "total_minor")}
                 for line in snap["lines"]]
        delivery = {"quote_id": quote["id"], "carrier": quote["carrier"],
                    "service_level": quote["service_level"], "price_minor": quote["price_minor"],
                    "eta_min_days": quote["eta_min_days"], "eta_max_days": quote["eta_max_days"],
                    "pickup_point_id": data.delivery.pickup_point_id if quote["pickup"] else None}
        return Order(id=new_id(), user_id=user.user_id, status=domain.PENDING, idempotency_key=key,
                     request_hash=fingerprint, snapshot_id=snap["id"], session_id=snap.get("session_id"),
                     currency=snap["currency"], lines=lines, refunded_minor=0, payment_id=None,
                     payment_action=None, shipment_id=None, tracking_number=None, cancel_reason=None,
                     promo_codes=snap.get("promo_codes", []), campaign_ids=snap.get("campaign_ids", []),
                     address=data.address.model_dump(), delivery=delivery,
                     payment=data.payment.model_dump(), created_at=now, updated_at=now, **money)

    def _insert(self, order: Order, owner: str) -> Saga:
        """The order, its first history line, its saga (leased to `owner`) and `order.placed`
        in one transaction; Core inserts of the objects' values (they stay plain in-memory
        objects for the saga run that follows)."""
        now = order.created_at
        saga = Saga(order_id=order.id, step=domain.RESERVE, state=domain.RUNNING, attempts=0,
                    next_run_at=now, committed=False, snapshot_accepted=False, compensations=[],
                    updated_at=now, lease_owner=owner, cancel_requested=None, failure=None,
                    final_status=None, last_error=None,
                    lease_until=now + timedelta(seconds=self.settings.saga_lease_s),
                    payment_deadline=domain.payment_deadline(now, self.settings.payment_deadline_s))
        with self.db.session() as session:
            conn = session.connection()
            conn.execute(INSERT_ORDER, row_values(order, ORDER_COLUMNS))
            add_history(session, order_id=order.id, from_status=None, to_status=domain.PENDING,
                        reason="order placed", actor=order.user_id, at=now)
            conn.execute(INSERT_SAGA, row_values(saga, SAGA_COLUMNS))
            outbox.publish(session, events.OrderPlaced(
                order_id=order.id, user_id=order.user_id, session_id=order.session_id,
                lines=[events.OrderLine(sku=x["sku"], product_id=x["product_id"], category=x["category"],
                                        quantity=x["quantity"], unit_price_minor=x["unit_price_minor"],
                                        discount_minor=x["discount_minor"]) for x in order.lines],
                subtotal_minor=order.subtotal_minor, discount_minor=order.discount_minor,
                shipping_minor=order.shipping_minor, total_minor=order.total_minor,
                currency=order.currency, promo_codes=order.promo_codes,
                campaign_ids=order.campaign_ids), subject=order.id)
        return saga

    def _run_saga(self, order_id: str, owner: str | None = None,
                  held: Held | None = None) -> Order | None:
        try:
            return self.runner.run(order_id, owner, held)
        except Exception:  # the saga worker takes over from what was recorded
            log.exception("saga_run_failed", order_id=order_id)
            return None

    # --- reading ---------------------------------------------------------------------------------
    def get(self, order_id: str, actor: Identity | None) -> Order:
        with self.db.read() as session:
            return self._owned(session, order_id, actor)

    def _owned(self, session: Session, order_id: str, actor: Identity | None) -> Order:
        order = session.get(Order, order_id)
        if order is None or (actor is not None and not actor.is_admin and order.user_id != actor.user_id):
            raise NotFound("No such order.", slug="unknown-order")
        return order

    def list(self, *, user_id: str | None, status: str | None, offset: int,
             limit: int) -> tuple[list[Order], int]:
        with self.db.read() as session:
            return list_orders(session, user_id=user_id, status=status, offset=offset, limit=limit)

    def detail(self, order_id: str, actor: Identity) -> OrderDetail:
        with self.db.read() as session:
            order = self._owned(session, order_id, actor)
            saga = session.get(Saga, order_id)
            saga_view = None
            if actor.is_admin and saga is not None:
                saga_view = {"state": saga.state, "step": saga.step, "attempts": saga.attempts,
                             "failure": saga.failure, "last_error": saga.last_error,
                             "compensations": saga.compensations}
            return OrderDetail(
                **public(order).model_dump(),
                history=[StatusChangePublic.model_validate(h) for h in history(session, order_id)],
                returns=[ReturnPublic.model_validate(r) for r in returns_of(session, order_id)],
                saga=saga_view)

    # --- changing ----------------------------------------------------------------------------------
    def cancel(self, order_id: str, actor: Identity, reason: str) -> Order:
        """Before the parcel leaves: a running saga compensates at its next step; a finished
        one is reopened to cancel the shipment, put the stock back and refund."""
        with self.db.session() as session:
            order = self._owned(session, order_id, actor)
            saga = session.get(Saga, order_id)
            assert saga is not None
            if order.status not in domain.CANCELLABLE or saga.state in (domain.COMPENSATING,
                                                                         domain.COMPENSATED):
                raise OrderRuleError(f"An order that is {order.status.replace('_', ' ')} cannot be "
                                     "cancelled.", slug="order-not-cancellable",
                                     order_status=order.status)
            if saga.state == domain.COMPLETED:
                reopen_to_cancel(session, saga, order, reason, actor=actor.user_id)
            else:
                saga.cancel_requested = reason
                saga.next_run_at = utcnow()
        self._run_saga(order_id)
        return self.get(order_id, None)

    def request_return(self, order_id: str, actor: Identity, data: ReturnCreate) -> ReturnRequest:
        with self.db.session() as session:
            order = self._owned(session, order_id, actor)
            if order.status not in (domain.DELIVERED, domain.PARTIALLY_REFUNDED):
                raise OrderRuleError("Returns are possible once the order was delivered.",
                                     slug="order-not-delivered")
            open_amount = sum(r.amount_minor for r in returns_of(session, order_id)
                              if r.status == "requested")
            left = order.total_minor - order.refunded_minor - open_amount
            amount = data.amount_minor or left
            if not 0 < amount <= left:
                raise OrderRuleError(f"At most {left} can still be returned.", slug="return-too-large",
                                     status=422, returnable_minor=left)
            req = ReturnRequest(id=new_id(), order_id=order_id, reason=data.reason, amount_minor=amount,
                                status="requested", created_at=utcnow())
            session.add(req)
            session.add(StatusChange(order_id=order_id, from_status=order.status, to_status=order.status,
                                     reason=f"return requested: {data.reason}", actor=actor.user_id,
                                     at=req.created_at))
            outbox.publish(session, events.OrderReturnRequested(
                order_id=order_id, user_id=order.user_id, return_id=req.id, amount_minor=amount,
                currency=order.currency, reason=data.reason), subject=order_id)
            return req

    def refund(self, order_id: str, admin: Identity, amount: int | None, reason: str) -> Order:
        """A refund after delivery (a return); never above what is left of the payment."""
        order = self.get(order_id, None)
        if order.status not in (domain.DELIVERED, domain.PARTIALLY_REFUNDED) or not order.payment_id:
            raise OrderRuleError("Only delivered orders are refunded this way; cancel the others.",
                                 slug="order-not-delivered")
        amount = amount or order.total_minor - order.refunded_minor
        key = f"order:{order_id}:refund:{order.refunded_minor}:{amount}"
        try:
            payment = self.n.refund(order.payment_id, amount, reason, key=key)
        except Rejected as exc:
            raise OrderRuleError(str(exc.body.get("detail", exc)), slug=exc.slug, status=exc.status) from exc
        except Transient as exc:
            raise Unavailable("The payments service is not answering; try again.") from exc
        with self.db.session() as session:
            order = self._owned(session, order_id, None)
            if payment["refunded_minor"] == order.refunded_minor:
                return order  # a replayed refund: already recorded
            order.refunded_minor = payment["refunded_minor"]
            full = order.refunded_minor >= order.total_minor
            set_status(session, order, domain.REFUNDED if full else domain.PARTIALLY_REFUNDED,
                       actor=admin.user_id, reason=reason)
            outbox.publish(session, events.OrderRefunded(
                order_id=order_id, user_id=order.user_id, amount_minor=amount,
                currency=order.currency, reason=reason), subject=order_id)
            for r in returns_of(session, order_id):
                if r.status == "requested":
                    r.status, r.resolved_at = "refunded", utcnow()
            return order

    def admin_action(self, order_id: str, admin: Identity, action: AdminAction) -> Order:
        if action.action == "cancel":
            return self.cancel(order_id, admin, action.reason)
        if action.action == "refund":
            return self.refund(order_id, admin, action.amount_minor, action.reason)
        if action.action == "retry":
            with self.db.session() as session:
                self._owned(session, order_id, None)
                saga = session.get(Saga, order_id)
                assert saga is not None
                saga.attempts, saga.next_run_at = 0, utcnow()
            self._run_saga(order_id)
            return self.get(order_id, None)
        target = domain.SHIPPED if action.action == "mark_shipped" else domain.DELIVERED
        with self.db.session() as session:
            order = self._owned(session, order_id, None)
            set_status(session, order, target, actor=admin.user_id, reason=action.reason)
            return order

    def reorder(self, order_id: str, actor: Identity, shopper_token: str) -> ReorderResult:
        """Put a past order's lines in the shopper's cart; report every line that could not be
        added or whose price changed."""
        order = self.get(order_id, actor)
        result = ReorderResult(added=[], repriced=[], unavailable=[])
        for line in order.lines:
            base = ReorderLine(product_id=line["product_id"], sku=line["sku"], quantity=line["quantity"],
                               previous_unit_price_minor=line["unit_price_minor"])
            try:
                cart = self.n.add_to_cart(line["product_id"], line["quantity"], shopper_token)
            except Rejected as exc:
                result.unavailable.append(base.model_copy(update={"reason": exc.slug}))
                continue
            except Transient as exc:
                raise Unavailable("The cart is not answering; try again.") from exc
            now = next((i["unit_price_minor"] for i in cart["items"]
                        if i["product_id"] == line["product_id"]), None)
            entry = base.model_copy(update={"unit_price_minor": now})
            (result.repriced if now != line["unit_price_minor"] else result.added).append(entry)
        return result

    # --- what the neighbours tell us -----------------------------------------------------------------
    def payment_news(self, event_id: str, payload: dict[str, Any]) -> bool:
        """A payment changed (webhook or bus event, whichever comes first): wake the order's
        saga. Deduplicated by the event id across both paths; False for a duplicate.

        Most news changes nothing (the saga that took the payment has recorded it already), and
        each payment arrives twice (webhook and bus) for two or three of its states: that is
        looked up without the database's write lock, and only news that wakes a saga is
        written (with its event id, in the same transaction)."""
        data = payload.get("data", {})
        order_id = data.get("order_id")
        if not order_id:
            return True
        with self.db.read() as session:
            saga = session.get(Saga, order_id)
            if saga is None or not self._wakes(saga, payload):
                return True
        owner = new_owner()
        try:
            with self.db.session() as session:
                session.execute(PROCESSED.insert().values(consumer="payment-news", event_id=event_id,
                                                          processed_at=utcnow()))
                saga = session.get(Saga, order_id)
                if saga is None or not self._wakes(saga, payload):
                    return True
                if saga.state == domain.WAITING:
                    saga.next_run_at = utcnow()
                else:  # a payment that landed after the order failed: give the money back
                    saga.state, saga.compensations = domain.COMPENSATING, [domain.SETTLE_PAYMENT]
                    saga.next_run_at = utcnow()
                # Woken and leased in one transaction: the saga worker cannot take it in between,
                # so the saga has moved on by the time this news is acknowledged. A saga leased
                # elsewhere is being worked on already.
                now = utcnow()
                leased = claim(session, order_id, owner, now,
                               now + timedelta(seconds=self.settings.saga_lease_s))
        except IntegrityError:
            return False
        if leased:
            self._run_saga(order_id, owner)
        return True

    @staticmethod
    def _wakes(saga: Saga, payload: dict[str, Any]) -> bool:
        """Does this payment news give the saga something to do?"""
        return saga.state == domain.WAITING or (
            saga.state == domain.COMPENSATED
            and payload.get("type") in ("payment.captured", "payment.authorized"))

    def shipment_news(self, event_type: str, data: dict[str, Any], session: Session) -> None:
        """Bus events of the delivery service (those in SHIPMENT_NEWS) move the order to
        shipped and delivered."""
        order = session.get(Order, data.get("order_id"))
        if order is None:
            return
        if event_type == "shipment.delivered" and order.status in (domain.FULFILLING, domain.SHIPPED):
            set_status(session, order, domain.DELIVERED, actor="delivery", reason="delivered")
        elif (event_type == "shipment.status_changed" and order.status == domain.FULFILLING
              and data.get("status") in ("picked_up", "in_transit", "out_for_delivery")):
            set_status(session, order, domain.SHIPPED, actor="delivery",
                       reason=f"{data.get('carrier')}: {data.get('status')}")


SHIPMENT_NEWS = frozenset({"shipment.delivered", "shipment.status_changed"})
"""The delivery events that can move an order (the rest are not even recorded as seen)."""


def public(order: Order) -> OrderPublic:
    tn = order.tracking_number
    return OrderPublic(
        id=order.id, user_id=order.user_id, status=order.status, currency=order.currency,
        lines=[OrderLinePublic(**line) for line in order.lines], subtotal_minor=order.subtotal_minor,
        discount_minor=order.discount_minor, shipping_minor=order.shipping_minor,
        total_minor=order.total_minor, refunded_minor=order.refunded_minor,
        promo_codes=order.promo_codes, address=order.address, delivery=order.delivery,
        payment_method=order.payment["method"], payment_id=order.payment_id,
        payment_action=order.payment_action,
        tracking=Tracking(carrier=order.delivery.get("carrier"),
                          service_level=order.delivery.get("service_level"), tracking_number=tn,
                          url=f"/api/delivery/tracking/{tn}" if tn else None),
        cancel_reason=order.cancel_reason, created_at=order.created_at, updated_at=order.updated_at)

