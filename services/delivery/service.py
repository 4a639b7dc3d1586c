"""Use cases of the delivery service: quotes, shipments (idempotent by order id), carrier
reports. Each state change writes its outbox event in the same transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.delivery import domain, events
from services.delivery.carriers import CARRIERS, Carrier
from services.delivery.domain import DeliveryRuleError, Parcel
from services.delivery.schemas import (
    CarrierReport,
    PickupPointPublic,
    QuotePublic,
    QuoteRequest,
    ShipmentCreate,
    ShipmentPublic,
    TrackingEventPublic,
)
from services.delivery.settings import DeliverySettings
from services.delivery.store import (
    INSERT_QUOTES,
    INSERT_SERIAL,
    INSERT_SHIPMENT,
    INSERT_TRACKING_EVENT,
    QUOTE_ROW,
    SHIPMENT_OF_ORDER,
    SHIPMENTS,
    Quote,
    Shipment,
    TrackingEvent,
    new_id,
    outbox,
)
from services.delivery.store import timeline as timeline_of
from services.platform.auth import Identity
from services.platform.db import Database
from services.platform.errors import NotFound
from services.platform.utc import as_utc

SHIPMENT_COLUMNS = tuple(c.key for c in SHIPMENTS.columns)


def utcnow() -> datetime:
    return datetime.now(UTC)



class Delivery:
    def __init__(self, *, db: Database, settings: DeliverySettings,
                 carriers: dict[str, Carrier] | None = None):
        self.db = db
        self.settings = settings
        self.carriers = carriers or CARRIERS

    # --- quotes ------------------------------------------------------------------------------
    def quote(self, user_id: str, data: QuoteRequest) -> list[QuotePublic]:
        """Every carrier's offers for the parcel, cheapest first, each stored for `quote_ttl_s`."""
        if data.parcel is not None:
            parcel = Parcel(**data.parcel.model_dump())
        else:
            assert data.items is not None
            parcel = domain.parcel_for_items([(i.quantity, i.weight_g) for i in data.items])
        zone = domain.zone(origin=self.settings.origin_country, destination=data.destination.country)
        rates = [r for c in self.carriers.values() for r in c.rates(parcel, zone)]
        if not rates:
            raise DeliveryRuleError("No carrier can take this parcel to this destination.",
                                    slug="undeliverable", status=422)
        now = utcnow()
        destination, parcel_data = data.destination.model_dump(), parcel.__dict__
        expires = now + timedelta(seconds=self.settings.quote_ttl_s)
        rows = [{"id": new_id("q"), "user_id": user_id, "carrier": r.carrier,
                 "service_level": r.service_level, "price_minor": r.price_minor,
                 "currency": r.currency, "eta_min_days": r.eta_min_days,
                 "eta_max_days": r.eta_max_days, "pickup": r.pickup, "destination": destination,
                 "parcel": parcel_data, "expires_at": expires, "created_at": now}
                for r in sorted(rates, key=lambda r: (r.price_minor, r.eta_max_days))]
        with self.db.session() as session:
            session.connection().execute(INSERT_QUOTES, rows)
        return [QuotePublic(**row) for row in rows]

    def get_quote(self, quote_id: str, actor: Identity) -> Quote:
        with self.db.read() as session:
            row = session.connection().execute(QUOTE_ROW, {"p_id": quote_id}).first()
        q = None if row is None else Quote(**row._mapping)
        if q is None or (not actor.is_admin and q.user_id != actor.user_id):
            raise NotFound("No such delivery quote.", slug="unknown-quote")
        return q

    def pickup_points(self, country: str, postcode: str, carrier: str | None) -> list[PickupPointPublic]:
        if carrier is not None and carrier not in self.carriers:
            raise NotFound(f"No carrier {carrier}.", slug="unknown-carrier")
        chosen = [self.carriers[carrier]] if carrier else list(self.carriers.values())
        return [PickupPointPublic(**p.__dict__) for c in chosen for p in c.pickup_points(country, postcode)]

    # --- shipments ---------------------------------------------------------------------------
    def create_shipment(self, data: ShipmentCreate) -> tuple[ShipmentPublic, bool]:
        """Book the quoted service; one shipment per order (a retry answers the same one)."""
        try:
            with self.db.session() as session:
                conn = session.connection()
                found = conn.execute(SHIPMENT_OF_ORDER, {"p_order_id": data.order_id}).first()
                if found is not None:
                    existing = session.get(Shipment, found.id)
                    assert existing is not None
                    return self._replay(session, existing, data), False
                row = conn.execute(QUOTE_ROW, {"p_id": data.quote_id}).first()
                quote = None if row is None else Quote(**row._mapping)
                if quote is None or quote.user_id != data.user_id:
                    raise DeliveryRuleError("Unknown delivery quote.", slug="unknown-quote", status=422)
                if quote.destination["country"] != data.address.country:
                    raise DeliveryRuleError("The address is not where the quote was made for.",
                                            slug="address-mismatch", status=422)
                carrier = self.carriers[quote.carrier]
                if quote.pickup and not data.pickup_point_id:
                    raise DeliveryRuleError("This service delivers to a pickup point: choose one.",
                                            slug="pickup-point-required", status=422)
                serial = conn.execute(INSERT_SERIAL, {"carrier": carrier.code}).inserted_primary_key[0]
                now = utcnow()
                shipment = Shipment(
                    id=new_id("shp"), order_id=data.order_id, user_id=data.user_id,
                    quote_id=quote.id, carrier=carrier.code, service_level=quote.service_level,
                    tracking_number=carrier.tracking_number(serial),
                    status=domain.LABEL_CREATED, address=data.address.model_dump(),
                    pickup_point_id=data.pickup_point_id if quote.pickup else None,
                    created_at=now, updated_at=now)
                conn.execute(INSERT_SHIPMENT, {c: getattr(shipment, c) for c in SHIPMENT_COLUMNS})
                first = TrackingEventPublic(status=domain.LABEL_CREATED, carrier_status=None,
                                            location=None, description="Label created",
                                            occurred_at=now)
                conn.execute(INSERT_TRACKING_EVENT, {
                    "shipment_id": shipment.id, **first.model_dump(), "source_event_id": None,
                    "recorded_at": now})
                outbox.publish(session, events.ShipmentCreated(
                    **self._refs(shipment), price_minor=quote.price_minor, currency=quote.currency,
                    eta_min_days=quote.eta_min_days, eta_max_days=quote.eta_max_days),
                    subject=shipment.order_id)
                return self._public(session, shipment, timeline=[first]), True
        except IntegrityError:  # a concurrent request for the same order won
            with self.db.read() as session:
                existing = session.scalar(select(Shipment).where(Shipment.order_id == data.order_id))
                if existing is None:
                    raise
                return self._replay(session, existing, data), False

    def _replay(self, session: Session, existing: Shipment, data: ShipmentCreate) -> ShipmentPublic:
        if existing.quote_id != data.quote_id:
            raise DeliveryRuleError("This order already ships with another quote.",
                                    slug="order-id-reused")
        return self._public(session, existing)

    def cancel(self, shipment_id: str) -> ShipmentPublic:
        with self.db.session() as session:
            s = self._shipment(session, shipment_id, None)
            self._move(session, s, domain.CANCELLED, carrier_status=None, location=None,
                       occurred_at=utcnow(), source_event_id=None)
            return self._public(session, s)

    def carrier_report(self, carrier_code: str, report: CarrierReport) -> ShipmentPublic:
        """Apply a carrier's webhook; its event id makes a redelivery a no-op."""
        carrier = self.carriers.get(carrier_code)
        if carrier is None:
            raise NotFound(f"No carrier {carrier_code}.", slug="unknown-carrier")
        status = carrier.STATUS_MAP.get(report.status)
        if status is None:
            raise DeliveryRuleError(f"{carrier.name} has no status {report.status!r}.",
                                    slug="unknown-carrier-status", status=422)
        source_id = f"{carrier_code}:{report.event_id}"
        try:
            with self.db.session() as session:
                s = session.scalar(select(Shipment).where(
                    Shipment.tracking_number == report.tracking_number,
                    Shipment.carrier == carrier_code).with_for_update())
                if s is None:
                    raise NotFound("No shipment has this tracking number.", slug="unknown-tracking")
                self._move(session, s, status, carrier_status=report.status,
                           location=report.location, occurred_at=as_utc(report.occurred_at),
                           source_event_id=source_id)
                return self._public(session, s)
        except IntegrityError:  # the same report delivered twice
            with self.db.read() as session:
                s = session.scalar(select(Shipment).where(
                    Shipment.tracking_number == report.tracking_number))
                assert s is not None
                return self._public(session, s)

    def _move(self, session: Session, s: Shipment, status: str, *, carrier_status: str | None,
              location: str | None, occurred_at: datetime, source_event_id: str | None) -> None:
        moves = domain.advance(s.status, status)
        session.add(TrackingEvent(shipment_id=s.id, status=status, carrier_status=carrier_status,
                                  location=location, description=status.replace("_", " ").capitalize(),
                                  source_event_id=source_event_id, occurred_at=occurred_at,
                                  recorded_at=utcnow()))
        session.flush()
        if not moves:
            return
        previous, s.status, s.updated_at = s.status, status, utcnow()
        outbox.publish(session, events.ShipmentStatusChanged(
            **self._refs(s), status=status, previous_status=previous, location=location,
            occurred_at=occurred_at), subject=s.order_id)
        if status == domain.DELIVERED:
            outbox.publish(session, events.ShipmentDelivered(**self._refs(s), delivered_at=occurred_at),
                           subject=s.order_id)

    # --- reads ---------------------------------------------------------------------------------
    def shipment(self, shipment_id: str, actor: Identity) -> ShipmentPublic:
        with self.db.read() as session:
            return self._public(session, self._shipment(session, shipment_id, actor))

    def by_order(self, order_id: str, actor: Identity) -> list[ShipmentPublic]:
        with self.db.read() as session:
            s = session.scalar(select(Shipment).where(Shipment.order_id == order_id))
            if s is None or (not actor.is_admin and s.user_id != actor.user_id):
                return []
            return [self._public(session, s)]

    def tracking(self, tracking_number: str) -> ShipmentPublic:
        with self.db.read() as session:
            s = session.scalar(select(Shipment).where(Shipment.tracking_number == tracking_number))
            if s is None:
                raise NotFound("No shipment has this tracking number.", slug="unknown-tracking")
            public = self._public(session, s)
        return public.model_copy(update={"address": {"city": public.address.get("city"),
                                                     "country": public.address.get("country")},
                                         "user_id": "", "order_id": ""})

    def _shipment(self, session: Session, shipment_id: str, actor: Identity | None) -> Shipment:
        s = session.get(Shipment, shipment_id)
        if s is None or (actor is not None and not actor.is_admin and s.user_id != actor.user_id):
            raise NotFound("No such shipment.", slug="unknown-shipment")
        return s

    @staticmethod
    def _refs(s: Shipment) -> dict[str, str]:
        return {"shipment_id": s.id, "order_id": s.order_id, "user_id": s.user_id,
                "carrier": s.carrier, "service_level": s.service_level,
                "tracking_number": s.tracking_number}

    def _public(self, session: Session, s: Shipment,
                timeline: list[TrackingEventPublic] | None = None) -> ShipmentPublic:
        """`timeline`: the shipment's events when the caller has them (one it just booked)."""
        if timeline is None:
            timeline = [TrackingEventPublic.model_validate(e) for e in timeline_of(session, s.id)]
        return ShipmentPublic(
            id=s.id, order_id=s.order_id, user_id=s.user_id, carrier=s.carrier,
            service_level=s.service_level, tracking_number=s.tracking_number, status=s.status,
            address=s.address, pickup_point_id=s.pickup_point_id,
            timeline=timeline,
            created_at=s.created_at, updated_at=s.updated_at)
