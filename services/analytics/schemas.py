"""Request and response models of the analytics service."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class EventBatch(BaseModel):
    """Behaviour events as the storefront batches them; each item is `{type, ...fields}`."""

    model_config = ConfigDict(extra="forbid")
    events: list[dict[str, Any]] = Field(min_length=1)


class BatchAccepted(BaseModel):
    accepted: int


Grain = Literal["day", "week", "month"]
Format = Literal["json", "csv"]


class Report(BaseModel):
    report: str
    columns: list[str]
    items: list[dict[str, Any]]
    total: int
    snapshot: str | None
