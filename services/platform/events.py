"""The event envelope shared by every service, the lake writer and the consumers.

Every business fact is published as one `Event`: a stable envelope around a per-type payload.
`data` is validated by the pydantic model registered for `(type, version)`, so a producer can
never publish a payload its consumers cannot read, and the JSON Schemas can be exported.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

import orjson
from pydantic import BaseModel, ConfigDict, Field

STREAM_PREFIX = "shop:events:"
"""Redis stream of one source service: `shop:events:<source>`."""


def stream_for(source: str) -> str:
    return f"{STREAM_PREFIX}{source}"


def new_event_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


class Event(BaseModel):
    """Envelope `{id, type, version, occurred_at, source, subject, data}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(default_factory=new_event_id)
    type: str
    version: int = 1
    occurred_at: datetime = Field(default_factory=utcnow)
    source: str
    subject: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    def to_json(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))

    @classmethod
    def from_json(cls, raw: bytes | str) -> Event:
        return cls.model_validate(orjson.loads(raw))


class EventData(BaseModel):
    """Base of every event payload model; subclasses set `event_type` (and `version`)."""

    model_config = ConfigDict(extra="forbid")
    event_type: ClassVar[str]
    event_version: ClassVar[int] = 1


EVENT_TYPES: dict[tuple[str, int], type[EventData]] = {}


def register(model: type[EventData]) -> type[EventData]:
    """Class decorator: make a payload model the schema of its event type."""
    EVENT_TYPES[(model.event_type, model.event_version)] = model
    return model


def make_event(data: EventData, *, source: str, subject: str | None = None) -> Event:
    """Build an envelope from a validated payload."""
    return Event(
        type=data.event_type,
        version=data.event_version,
        source=source,
        subject=subject,
        data=data.model_dump(mode="json"),
    )


def validate_payload(event: Event) -> EventData:
    """Parse `event.data` with its registered model; raise KeyError for unknown types."""
    model = EVENT_TYPES[(event.type, event.version)]
    return model.model_validate(event.data)


def json_schemas() -> dict[str, Any]:
    """JSON Schema of every registered payload, keyed `type@version`."""
    return {f"{t}@{v}": m.model_json_schema() for (t, v), m in sorted(EVENT_TYPES.items())}
