"""Structured JSON logs with the request id carried in a context variable.

Every log line is one JSON object with `service`, `request_id` (when inside a request) and the
event's own fields. Secrets never reach a log: the processor below masks well-known keys so a
careless `log.info(..., password=...)` cannot leak.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar

import orjson
import structlog

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

SECRET_KEYS = frozenset(
    {"password", "new_password", "current_password", "token", "access_token", "refresh_token",
     "authorization", "card_number", "cvc", "secret", "secret_key"}
)


def _add_request_id(_: object, __: str, event: dict) -> dict:
    rid = request_id_var.get()
    if rid is not None:
        event.setdefault("request_id", rid)
    return event


def _mask_secrets(_: object, __: str, event: dict) -> dict:
    for key in SECRET_KEYS.intersection(event):
        event[key] = "***"
    return event


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send JSON lines to stdout (the supervisor merges and prefixes them)."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    def add_service(_: object, __: str, event: dict) -> dict:
        event.setdefault("service", service)
        return event

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_service,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _add_request_id,
            _mask_secrets,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=lambda o, **_: orjson.dumps(o).decode()),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    # Route stdlib loggers (uvicorn errors, alembic, sqlalchemy) to the same level; uvicorn's own
    # access log is disabled by the runners because ours carries the request id and user.
    logging.basicConfig(level=numeric, stream=sys.stdout, format="%(name)s %(levelname)s %(message)s")
