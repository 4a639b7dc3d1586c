"""The notifications service for real: its HTTP app over uvicorn, its worker (bus consumer +
dispatcher) in a thread, a real SMTP sink (aiosmtpd) on a free port, real Redis, SQLite or
PostgreSQL, and a JWKS endpoint serving the key that signs the test tokens."""

from __future__ import annotations

import asyncio
import base64
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import redis as redis_lib
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from sqlalchemy import select

from services.notifications.app import create_app
from services.notifications.settings import NotificationsSettings
from services.notifications.sink import Sink, StoredMail, read_mailbox
from services.notifications.store import Delivery
from services.notifications.worker import Worker
from services.platform.auth import AUDIENCE, ISSUER
from services.platform.events import Event, EventData, make_event, stream_for
from tests.support.servers import free_port, serve


@dataclass
class Signer:
    """Signs access tokens like the users service does; its JWKS is served over HTTP."""

    private: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    kid: str = "notifications-test-key"

    def jwks(self) -> dict[str, Any]:
        raw = self.private.public_key().public_bytes(serialization.Encoding.Raw,
                                                     serialization.PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": self.kid,
                          "alg": "EdDSA", "use": "sig"}]}

    def token(self, user_id: str, *, roles: tuple[str, ...] = ("customer",),
              ttl: timedelta = timedelta(minutes=10)) -> str:
        now = datetime.now(UTC)
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": user_id, "roles": list(roles),
                  "email": f"{user_id}@example.com", "iat": now, "exp": now + ttl}
        return jwt.encode(claims, self.private, algorithm="EdDSA", headers={"kid": self.kid})

    def headers(self, user_id: str, **kw: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user_id, **kw)}"}


@pytest.fixture(scope="session")
def signer() -> Iterator[tuple[Signer, str]]:
    signer = Signer()
    jwks_app = FastAPI()
    jwks_app.get("/.well-known/jwks.json")(signer.jwks)
    jwks_app.get("/health")(lambda: {"status": "ok"})
    with serve(jwks_app) as base:
        yield signer, f"{base}/.well-known/jwks.json"


class WorkerThread:
    """Runs a `Worker` on its own event loop in a thread, like the worker process does."""

    def __init__(self, worker: Worker):
        self.worker = worker
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop_event: asyncio.Event | None = None
        self.started = threading.Event()
        self.thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)
        self.thread.start()
        assert self.started.wait(30) and worker.ready.wait(30), "worker did not start"

    async def _main(self) -> None:
        self.loop, self.stop_event = asyncio.get_running_loop(), asyncio.Event()
        self.loop.call_soon(self.started.set)
        await self.worker.run(self.stop_event)

    def stop(self) -> None:
        if self.loop is not None and self.stop_event is not None and self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(timeout=15)


def eventually(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll until `check()` is truthy (its value is returned) or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")
        time.sleep(interval)


@dataclass
class Notifications:
    app: FastAPI
    http: httpx.Client
    settings: NotificationsSettings
    signer: Signer
    redis: redis_lib.Redis
    worker: WorkerThread | None = None

    def publish(self, data: EventData, *, source: str, event: Event | None = None) -> Event:
        """Put an event on its source's stream, as that service's outbox relay would."""
        event = event or make_event(data, source=source, subject=getattr(data, "user_id", None))
        self.redis.xadd(stream_for(source), {"event": event.to_json()})
        return event

    def publish_raw(self, source: str, raw: bytes) -> None:
        self.redis.xadd(stream_for(source), {"event": raw})

    def mails(self, to: str | None = None) -> list[StoredMail]:
        return read_mailbox(self.settings.mailbox_dir, to=to, limit=1000)[0]

    def deliveries(self, **where: Any) -> list[Delivery]:
        with self.app.state.db.read() as session:
            query = select(Delivery).filter_by(**where).order_by(Delivery.created_at)
            return list(session.scalars(query))

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Until every delivery is sent or failed (nothing pending or in flight)."""
        eventually(lambda: all(d.status in ("sent", "failed") for d in self.deliveries()), timeout)

    def auth(self, user_id: str, **kw: Any) -> dict[str, str]:
        return self.signer.headers(user_id, **kw)

    def admin(self) -> dict[str, str]:
        return self.signer.headers("admin-1", roles=("customer", "admin"))


@pytest.fixture
def make_notifications(
    database_url: str, redis_url: str, redis_client: redis_lib.Redis, tmp_path: Path,
    signer: tuple[Signer, str],
) -> Iterator[Callable[..., Notifications]]:
    """`make(worker=True, **settings)`: the app (and, by default, a worker) on one database."""
    key_signer, jwks_url = signer
    cleanups: list[Callable[[], None]] = []
    sink = Sink(tmp_path / "notifications" / "mailbox", port=free_port()).start()
    cleanups.append(sink.stop)

    def make(*, worker: bool = True, **overrides: Any) -> Notifications:
        overrides.setdefault("sink_port", sink.controller.port)
        settings = NotificationsSettings(
            database_url=database_url, redis_url=redis_url, data_dir=tmp_path, jwks_url=jwks_url,
            retry_base_s=0.05, retry_max_s=0.2, public_base_url="https://shop.test",
            default_quiet_start=None, default_quiet_end=None, **overrides)
        app = create_app(settings)
        ctx = serve(app)
        base = ctx.__enter__()
        client = httpx.Client(base_url=base, timeout=30)
        cleanups.append(lambda: (client.close(), ctx.__exit__(None, None, None)))
        service = Notifications(app, client, settings, key_signer, redis_client)
        if worker:
            service.worker = start_worker(settings, redis_url)
            cleanups.append(service.worker.stop)
        return service

    yield make
    for cleanup in reversed(cleanups):
        cleanup()


def start_worker(settings: NotificationsSettings, redis_url: str) -> WorkerThread:
    return WorkerThread(Worker(settings, redis_url=redis_url, block_ms=100,
                               consumer_name=f"test-{uuid.uuid4().hex[:6]}"))


@pytest.fixture
def notifications(make_notifications: Callable[..., Notifications]) -> Notifications:
    return make_notifications()
