"""Use cases of the notifications service.

`Notifier.handle` runs in the consumer's transaction: it turns an event into the recipient's
projection, a notification-centre row and one delivery row per channel, all committed with the
processed-event id, so a replayed event finds its id and sends nothing twice. Sending happens
later, in the dispatcher. `Centre` serves the API: history, preferences, unsubscribe, campaigns.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from jinja2 import TemplateError
from pydantic import ValidationError
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from services.notifications import domain
from services.notifications.channels import push_channel
from services.notifications.domain import Category, Channel, Preferences
from services.notifications.events import GROUP
from services.notifications.intents import Notify, RecipientFacts, intents_for
from services.notifications.schemas import PreferencesUpdate
from services.notifications.settings import NotificationsSettings
from services.notifications.store import (
    FAILED,
    PENDING,
    SENT,
    Delivery,
    Notification,
    Recipient,
    deliveries_of_event,
    ensure_recipient,
    mark_read,
    new_id,
    notifications_of,
    opted_in_recipients,
    recipient,
)
from services.notifications.templates import Renderer
from services.platform.consumer import dlq_stream
from services.platform.db import Database
from services.platform.errors import Conflict, InvalidInput, NotFound
from services.platform.events import Event, stream_for

log = structlog.get_logger("notifications")
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def preferences_of(rec: Recipient | None, settings: NotificationsSettings) -> Preferences:
    if rec is None:
        return Preferences(quiet_start=settings.default_quiet_start,
                           quiet_end=settings.default_quiet_end)
    categories = {c.value: True for c in domain.OPTIONAL} | dict(rec.categories or {})
    return Preferences(email=rec.email_enabled, sms=rec.sms_enabled, push=rec.push_enabled,
                       categories=categories, marketing_opt_in=rec.marketing_opt_in,
                       quiet_start=rec.quiet_start, quiet_end=rec.quiet_end, timezone=rec.timezone)


def recipient_defaults(settings: NotificationsSettings) -> dict[str, Any]:
    return {"locale": "en", "marketing_opt_in": False, "email_enabled": True,
            "sms_enabled": False, "push_enabled": True, "categories": {},
            "quiet_start": settings.default_quiet_start, "quiet_end": settings.default_quiet_end,
            "timezone": "UTC"}


class RecipientNotYetKnown(Exception):
    """The users stream is behind the stream this event came from (streams are not ordered
    with each other, and several workers share them): the consumer retries the event later."""


class Planner:
    """Turns one message intent into rows (notification + deliveries); shared by the consumer
    and admin campaigns so preferences are honoured the same way everywhere."""

    def __init__(self, *, settings: NotificationsSettings, renderer: Renderer, clock: Clock):
        self.settings = settings
        self.renderer = renderer
        self.clock = clock

    def unsubscribe_url(self, user_id: str, category: Category) -> str | None:
        if category in domain.TRANSACTIONAL:
            return None
        token = domain.sign_unsubscribe(secret=self.settings.secret_key, user_id=user_id,
                                        category=category.value)
        return f"{self.settings.public_base_url.rstrip('/')}/api/notifications/unsubscribe?token={token}"

    def plan(self, session: Session, intent: Notify, *, event_id: str | None,
             wait_for_recipient: bool = False, push_now: bool = False) -> list[Delivery]:
        """Write the rows of one message; return its deliveries (empty when nothing is due).
        `wait_for_recipient`: raise `RecipientNotYetKnown` rather than send without an email
        address when the user is not in the projection yet. `push_now`: the caller publishes
        the push itself once the transaction committed (its row is recorded as sent)."""
        spec = domain.template_spec(intent.template)
        rec = recipient(session, intent.user_id)
        if rec is None and wait_for_recipient and not intent.email and Channel.EMAIL in spec.channels:
            raise RecipientNotYetKnown(f"user {intent.user_id} is not in the recipients projection yet")
        prefs = preferences_of(rec, self.settings)
        if not domain.category_enabled(spec.category, prefs):
            return []
        now = self.clock()
        raw_email = intent.email or (rec.email if rec else None)
        email, email_error = None, None
        if raw_email:
            try:
                email = domain.normalise_email(raw_email)
            except domain.InvalidAddress as exc:
                email_error = str(exc)
        channels = domain.plan_channels(spec=spec, prefs=prefs, has_email=email is not None,
                                        has_phone=bool(rec and rec.phone))
        unsubscribe = self.unsubscribe_url(intent.user_id, spec.category)
        params = {**intent.params, "name": rec.full_name if rec else None,
                  "unsubscribe_url": unsubscribe}
        rendered = self.renderer.render(spec.name, locale=intent.locale or (rec.locale if rec else None),
                                        params=params)
        link = intent.params.get("link")
        note = None
        if spec.in_app:
            note = Notification(id=new_id(), user_id=intent.user_id, event_id=event_id,
                                template=spec.name, category=spec.category.value,
                                title=rendered.subject, body=rendered.short, link=link,
                                created_at=now)
            session.add(note)
        rows = []

        def delivery(channel: Channel, address: str | None, payload: dict[str, Any], *,
                     at: datetime = now, status: str = PENDING, error: str | None = None) -> None:
            rows.append(Delivery(id=new_id(), user_id=intent.user_id, event_id=event_id,
                                 notification_id=note.id if note else None, channel=channel.value,
                                 template=spec.name, address=address, payload=payload,
                                 status=status, attempts=int(status == SENT), next_attempt_at=at,
                                 last_error=error, created_at=now,
                                 sent_at=now if status == SENT else None))

        if email_error and Channel.EMAIL in spec.channels:  # kept visible, never retried
            delivery(Channel.EMAIL, raw_email, {}, status=FAILED, error=email_error)
        for channel in channels:
            if channel is Channel.EMAIL:
                delivery(channel, email, {"subject": rendered.subject, "text": rendered.text,
                                          "html": rendered.html, "unsubscribe_url": unsubscribe})
            elif channel is Channel.SMS:
                quiet = domain.quiet_until(now=now, start=prefs.quiet_start, end=prefs.quiet_end,
                                           tz=prefs.timezone)
                delivery(channel, rec.phone if rec else None, {"short": rendered.short},
                         at=quiet or now)
            else:
                delivery(channel, None, status=SENT if push_now else PENDING, payload={
                    "type": "notification", "id": note.id if note else None, "template": spec.name,
                    "category": spec.category.value, "title": rendered.subject,
                    "body": rendered.short, "link": link, "created_at": now.isoformat()})
        session.add_all(rows)
        return rows


class Notifier:
    """The consumer's handler (`handler(event, session)` for `platform.consumer.Consumer`).

    Live pushes skip the delivery table's send loop: they are published straight after the
    event's transaction commits (`publish_pushes`, called by the worker), which saves two
    transactions per message and keeps the event-to-browser time low. A crash in between loses
    the live copy only; the notification centre has the message.
    """

    def __init__(self, *, settings: NotificationsSettings, redis: Redis, planner: Planner):
        self.settings = settings
        self.redis = redis
        self.planner = planner
        self.pending_pushes: list[tuple[str, dict[str, Any]]] = []

    def publish_pushes(self) -> None:
        pushes, self.pending_pushes = self.pending_pushes, []
        if not pushes:
            return
        try:
            pipe = self.redis.pipeline(transaction=False)
            for user_id, payload in pushes:
                pipe.publish(push_channel(user_id), orjson.dumps(payload))
            pipe.execute()
        except RedisError:
            log.warning("push_publish_failed", count=len(pushes))

    def handle(self, event: Event, session: Session) -> None:
        self.pending_pushes = []  # a rolled-back attempt's pushes are forgotten
        try:
            intents = intents_for(event.type, event.data, base_url=self.settings.public_base_url)
        except ValidationError as exc:  # retrying cannot fix a payload: dead-letter at once
            self.dead_letter(event, f"payload does not fit {event.type}: {exc.errors()[:3]}")
            return
        now = self.planner.clock()
        stale = domain.is_stale(occurred_at=event.occurred_at, now=now,
                                max_age_s=self.settings.max_event_age_s)
        # A young event may wait for its recipient; an older one goes out without email (still
        # in the centre and pushed) instead of ending in the dead-letter stream.
        young = not domain.is_stale(occurred_at=event.occurred_at, now=now,
                                    max_age_s=self.settings.recipient_wait_s)
        for intent in intents:
            if isinstance(intent, RecipientFacts):
                self.remember(session, intent)
            elif stale:
                log.info("stale_event_skipped", event_id=event.id, type=event.type,
                         occurred_at=event.occurred_at.isoformat())
            else:
                try:
                    rows = self.planner.plan(session, intent, event_id=event.id,
                                             wait_for_recipient=young, push_now=True)
                    self.pending_pushes += [(r.user_id or "", r.payload) for r in rows
                                            if r.channel == Channel.PUSH]
                except (domain.UnknownTemplate, TemplateError) as exc:
                    self.dead_letter(event, f"cannot render {intent.template}: {exc}")

    def remember(self, session: Session, facts: RecipientFacts) -> None:
        rec = ensure_recipient(session, facts.user_id, recipient_defaults(self.settings))
        rec.email = facts.email
        if facts.full_name is not None:
            rec.full_name = facts.full_name
        if facts.locale is not None:
            rec.locale = domain.pick_locale(facts.locale)
        if facts.marketing_opt_in is not None:
            rec.marketing_opt_in = facts.marketing_opt_in
        session.flush()

    def dead_letter(self, event: Event, reason: str) -> None:
        log.error("dead_lettered", group=GROUP, event_id=event.id, type=event.type, reason=reason[:300])
        self.redis.xadd(dlq_stream(GROUP), {
            "event": event.to_json(), "stream": stream_for(event.source), "reason": reason[:2000],
            "attempts": 1, "failed_at": utcnow().isoformat()})


class Centre:
    """The API's use cases: notification centre, preferences, unsubscribe, campaigns."""

    def __init__(self, *, db: Database, settings: NotificationsSettings, planner: Planner,
                 clock: Clock = utcnow):
        self.db = db
        self.settings = settings
        self.planner = planner
        self.clock = clock

    def history(self, user_id: str, *, unread_only: bool, offset: int, limit: int
                ) -> tuple[list[Notification], int, int]:
        with self.db.read() as session:
            return notifications_of(session, user_id, unread_only=unread_only, offset=offset,
                                    limit=limit)

    def mark_read(self, user_id: str, notification_id: str) -> None:
        with self.db.session() as session:
            note = session.get(Notification, notification_id)
            if note is None or note.user_id != user_id:
                raise NotFound("No such notification.")
            mark_read(session, user_id, [notification_id], self.clock())

    def mark_all_read(self, user_id: str) -> int:
        with self.db.session() as session:
            return mark_read(session, user_id, None, self.clock())

    def preferences(self, user_id: str) -> tuple[Preferences, str | None]:
        with self.db.read() as session:
            rec = recipient(session, user_id)
            return preferences_of(rec, self.settings), rec.phone if rec else None

    def update_preferences(self, user_id: str, changes: PreferencesUpdate
                           ) -> tuple[Preferences, str | None]:
        fields = changes.model_dump(exclude_unset=True)
        try:
            if "phone" in fields and fields["phone"] is not None:
                fields["phone"] = domain.normalise_phone(fields["phone"])
            if fields.get("categories"):
                domain.check_categories(fields["categories"])
            for key in ("quiet_start", "quiet_end"):
                if fields.get(key):
                    domain.parse_clock(fields[key])
            if "timezone" in fields:
                domain.zone(fields["timezone"])
        except (domain.InvalidAddress, domain.InvalidPreference) as exc:
            raise InvalidInput(str(exc), slug="invalid-preference") from exc
        with self.db.session() as session:
            rec = ensure_recipient(session, user_id, recipient_defaults(self.settings))
            columns = {"email": "email_enabled", "sms": "sms_enabled", "push": "push_enabled"}
            for key, value in fields.items():
                if key == "categories":
                    # Marketing is consent: the category switch and the opt-in are one thing.
                    value = dict(value)
                    if Category.MARKETING.value in value:
                        rec.marketing_opt_in = value.pop(Category.MARKETING.value)
                    rec.categories = {**(rec.categories or {}), **value}
                else:
                    setattr(rec, columns.get(key, key), value)
            if rec.sms_enabled and not rec.phone:
                raise InvalidInput("Add a phone number before switching SMS on.",
                                   slug="invalid-preference")
            session.flush()
            return preferences_of(rec, self.settings), rec.phone

    def unsubscribe(self, token: str) -> tuple[str, str]:
        try:
            user_id, category = domain.verify_unsubscribe(secret=self.settings.secret_key,
                                                          token=token)
        except domain.BadUnsubscribeToken as exc:
            raise InvalidInput(str(exc), slug="invalid-unsubscribe-token") from exc
        with self.db.session() as session:
            rec = ensure_recipient(session, user_id, recipient_defaults(self.settings))
            if category == Category.MARKETING:
                rec.marketing_opt_in = False
            else:
                rec.categories = {**(rec.categories or {}), category: False}
        return user_id, category

    def campaign(self, *, template: str, params: dict[str, Any], user_ids: list[str] | None,
                 campaign_id: str) -> tuple[int, int]:
        """Queue a marketing message to every opted-in recipient (or the listed ones);
        returns (queued, skipped)."""
        try:
            spec = domain.template_spec(template)
        except domain.UnknownTemplate as exc:
            raise InvalidInput(str(exc), slug="unknown-template") from exc
        if spec.category is not Category.MARKETING:
            raise InvalidInput(f"{template!r} is not a marketing template.", slug="unknown-template")
        queued = 0
        with self.db.session() as session:
            if deliveries_of_event(session, campaign_id):
                raise Conflict("This campaign was already sent.", slug="campaign-sent")
            targets = opted_in_recipients(session, user_ids)
            for rec in targets:
                try:
                    rows = self.planner.plan(session, Notify(template, rec.user_id, params),
                                             event_id=campaign_id)
                except TemplateError as exc:
                    raise InvalidInput(f"The template cannot be rendered: {exc}",
                                       slug="template-parameters") from exc
                queued += bool(rows)
        asked = len(user_ids) if user_ids is not None else len(targets)
        return queued, asked - queued
