"""Pure ASGI middlewares shared by every service (cheap: no per-request Request objects).

- `RequestContextMiddleware`: request id in/out (`X-Request-ID`), one access-log line per request
  (method, path, status, latency, user, request id; never query strings, bodies or tokens), and
  Prometheus request metrics labelled by route template.
- `BodySizeLimitMiddleware`: refuses bodies over the limit with 413 before the app reads them.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import orjson
import structlog
from prometheus_client import Counter, Histogram
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.platform.errors import PROBLEM_MEDIA_TYPE, problem_body
from services.platform.logging import request_id_var

REQUEST_ID_HEADER = b"x-request-id"
_VALID_RID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")

REQUESTS = Counter("http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

access_log = structlog.get_logger("access")


def header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, skip_paths: frozenset[str] = frozenset({"/metrics", "/health"})):
        self.app = app
        self.skip_paths = skip_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = header(scope, REQUEST_ID_HEADER)
        rid = incoming if incoming and _VALID_RID.match(incoming) else uuid.uuid4().hex.encode()
        token = request_id_var.set(rid.decode())
        scope.setdefault("state", {})["request_id"] = rid.decode()
        status = 500
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (REQUEST_ID_HEADER, rid)]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            path = scope["path"]
            if path not in self.skip_paths:
                route = scope.get("route")
                template = getattr(route, "path", None) or scope.get("route_template") or "unmatched"
                REQUESTS.labels(scope["method"], template, str(status)).inc()
                LATENCY.labels(scope["method"], template).observe(elapsed)
                access_log.info(
                    "request",
                    method=scope["method"],
                    path=path,
                    status=status,
                    latency_ms=round(elapsed * 1000, 3),
                    user=scope["state"].get("user_id"),
                )
            request_id_var.reset(token)


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await send_problem(send, 413, "payload-too-large", self._detail())
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(413, self._detail())
            return message

        try:
            await self.app(scope, limited_receive, send)
        except BodyTooLarge:
            await send_problem(send, 413, "payload-too-large", self._detail())

    def _detail(self) -> str:
        return f"The request body exceeds the limit of {self.max_bytes} bytes."


class BodyTooLarge(StarletteHTTPException):
    """An HTTPException so that FastAPI's body parsing re-raises it (as a 413 problem) instead
    of turning it into a generic 400."""


async def send_problem(
    send: Send, status: int, slug: str, detail: str, headers: list[tuple[bytes, bytes]] | None = None,
    **extra: Any,
) -> None:
    body = orjson.dumps(problem_body(status, slug, detail, extra=extra or None))
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class UnhandledErrorMiddleware:
    """Turns an unexpected exception into a logged 500 problem, without re-raising it (Starlette's
    last-resort handler re-raises, which makes the server drop the keep-alive connection)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            structlog.get_logger("errors").exception("unhandled_error", path=scope["path"])
            if not started:
                await send_problem(send, 500, "internal-error", "An unexpected error occurred.")
