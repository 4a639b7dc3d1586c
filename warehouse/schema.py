"""Arrow schema of each event type's lake files, derived from its registered payload model.

One schema per `(type, version)`: the envelope columns, then the payload fields flattened to
typed columns. Scalars and lists of scalars stay typed; nested objects (order lines, dicts) are
stored as JSON text so the schema stays flat and any engine can read it, and staging parses them.
Fields named like secrets (`token`, `password`) are never written to the lake.
"""

from __future__ import annotations

import types
import typing
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import Any, Literal, get_args, get_origin

import pyarrow as pa

from services.platform.events import EVENT_TYPES, EventData

SENSITIVE_FIELDS = frozenset({"token", "password", "password_hash", "secret"})

ENVELOPE_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("event_type", pa.string(), nullable=False),
        pa.field("event_version", pa.int32(), nullable=False),
        pa.field("occurred_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("ingested_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("subject", pa.string()),
    ]
)
"""`ingested_at` is when the lake writer wrote the row: late events show as a gap to occurred_at."""

RAW_DATA_FIELD = pa.field("data", pa.string())
"""Payload of a type with no registered model, kept whole as JSON rather than dropped."""

_SCALARS: dict[Any, pa.DataType] = {
    str: pa.string(),
    int: pa.int64(),
    float: pa.float64(),
    bool: pa.bool_(),
    datetime: pa.timestamp("us", tz="UTC"),
    date: pa.date32(),
}


def load_contracts() -> None:
    """Import every service's event module so their payload models are registered (a new
    service's events reach the lake typed without touching this list: there is no list)."""
    import importlib
    import importlib.util
    import pkgutil

    import services

    for module in pkgutil.iter_modules(services.__path__):
        if module.ispkg and importlib.util.find_spec(f"services.{module.name}.events"):
            importlib.import_module(f"services.{module.name}.events")


def _strip_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _scalar_type(annotation: Any) -> pa.DataType | None:
    annotation = _strip_optional(annotation)
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    if get_origin(annotation) is Literal:
        return _SCALARS.get(type(get_args(annotation)[0]))
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return pa.string()
    return None


def arrow_type(annotation: Any) -> tuple[pa.DataType, bool]:
    """Arrow type of one payload field and whether it is stored as JSON text."""
    scalar = _scalar_type(annotation)
    if scalar is not None:
        return scalar, False
    inner = _strip_optional(annotation)
    if get_origin(inner) in (list, tuple, set, frozenset):
        args = get_args(inner)
        item = _scalar_type(args[0]) if args else None
        if item is not None:
            return pa.list_(item), False
    return pa.string(), True  # nested models, dicts, lists of objects


def payload_fields(model: type[EventData]) -> list[tuple[str, pa.DataType, bool]]:
    """(column, arrow type, is_json) of each lake column a payload model contributes."""
    out = []
    for name, field in model.model_fields.items():
        if name in SENSITIVE_FIELDS or name in ENVELOPE_SCHEMA.names:
            continue
        dtype, is_json = arrow_type(field.annotation)
        out.append((name, dtype, is_json))
    return out


def lake_schema(event_type: str, version: int) -> pa.Schema:
    """The schema of the lake files of one event type and version."""
    model = EVENT_TYPES.get((event_type, version))
    if model is None:
        return ENVELOPE_SCHEMA.append(RAW_DATA_FIELD)
    return _model_schema(model)


@cache
def _model_schema(model: type[EventData]) -> pa.Schema:
    fields = list(ENVELOPE_SCHEMA)
    fields += [pa.field(name, dtype) for name, dtype, _ in payload_fields(model)]
    return pa.schema(fields)


def json_columns(event_type: str, version: int) -> frozenset[str]:
    """Payload columns stored as JSON text (`data` for a type without a registered model)."""
    model = EVENT_TYPES.get((event_type, version))
    if model is None:
        return frozenset({"data"})
    return _model_json_columns(model)


@cache
def _model_json_columns(model: type[EventData]) -> frozenset[str]:
    return frozenset(name for name, _, is_json in payload_fields(model) if is_json)


def temporal_columns(event_type: str, version: int) -> dict[str, type]:
    """Payload columns holding datetimes or dates: JSON delivers them as ISO strings."""
    model = EVENT_TYPES.get((event_type, version))
    return {} if model is None else _model_temporal_columns(model)


@cache
def _model_temporal_columns(model: type[EventData]) -> dict[str, type]:
    out: dict[str, type] = {}
    for name, dtype, _ in payload_fields(model):
        if pa.types.is_timestamp(dtype):
            out[name] = datetime
        elif pa.types.is_date(dtype):
            out[name] = date
    return out


def table_name(event_type: str) -> str:
    """SQL-friendly name of an event type (`order.placed` -> `order_placed`)."""
    return event_type.replace(".", "_").replace("-", "_")
