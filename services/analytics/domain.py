"""Rules of the behaviour-event intake: which types exist, and whose events they are.
Pure functions, no I/O."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from services.analytics.events import SOURCE, BehaviourEvent
from services.platform.events import EVENT_TYPES, Event

BEHAVIOUR_TYPES: dict[str, type[BehaviourEvent]] = {
    t: m for (t, v), m in EVENT_TYPES.items() if v == 1 and issubclass(m, BehaviourEvent)
}
"""Event types the storefront may send: exactly the registered behaviour payloads."""


def to_event(
    raw: dict[str, Any], *, user_id: str | None, now: datetime, max_skew: timedelta
) -> Event:
    """Validate one raw event; the signed-in user (from the token) overrides any `user_id` sent,
    so nobody can write events in someone else's name. Raises ValueError with a clear reason."""
    fields = dict(raw)
    event_type = fields.pop("type", None)
    occurred_at = fields.pop("occurred_at", None) or now
    model = BEHAVIOUR_TYPES.get(str(event_type))
    if model is None:
        known = ", ".join(sorted(BEHAVIOUR_TYPES))
        raise ValueError(f"unknown event type {event_type!r}; known types: {known}")
    fields["user_id"] = user_id
    try:
        payload = model.model_validate(fields)
        when = occurred_at if isinstance(occurred_at, datetime) else datetime.fromisoformat(
            str(occurred_at).replace("Z", "+00:00"))
    except (ValidationError, ValueError) as exc:
        raise ValueError(_reason(exc)) from exc
    if when.tzinfo is None:
        raise ValueError("occurred_at must carry a time zone (e.g. 2026-01-01T12:00:00Z)")
    if when > now + max_skew:
        raise ValueError("occurred_at is in the future")
    return Event(type=model.event_type, source=SOURCE, occurred_at=when,
                 subject=payload.session_id, data=payload.model_dump(mode="json"))


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
    return str(exc)
