"""Every stored time is UTC. SQLite hands datetimes back without a time zone, so whatever reads
them re-attaches UTC here (one rule for every service, in models and in code alike)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, overload

from pydantic import AfterValidator


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
"""A response field of a stored time: always carries its UTC offset."""
