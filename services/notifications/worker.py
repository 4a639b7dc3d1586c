"""The notifications worker process (`python -m services.notifications.worker`, run by `shop up`):
the bus consumer (a thread: the platform consumer is synchronous) writes deliveries, and the
dispatcher (asyncio: SMTP, HTTP and Redis sends overlap) sends them. Several workers may run
side by side: they share the consumer group and claim deliveries with `SKIP LOCKED`.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from datetime import datetime

import structlog

from services.notifications.app import database
from services.notifications.channels import (
    Channel,
    DevOutboxSmsChannel,
    EmailChannel,
    HttpSmsChannel,
    PushChannel,
)
from services.notifications.dispatcher import Dispatcher
from services.notifications.events import GROUP, STREAMS
from services.notifications.intents import HANDLED_TYPES
from services.notifications.service import Notifier, Planner, utcnow
from services.notifications.settings import NotificationsSettings
from services.notifications.store import PROCESSED
from services.notifications.templates import Renderer
from services.platform.consumer import Consumer, Handler, Idempotency, SqlIdempotency
from services.platform.db import Database
from services.platform.events import Event
from services.platform.redis import async_client, resolve_redis_url, sync_client

log = structlog.get_logger("notifications-worker")


class RelevantOnly:
    """Skips event types we do not handle without a database write (the inventory stream is
    mostly stock changes), and wakes the dispatcher after a handled event committed."""

    def __init__(self, inner: Idempotency, types: frozenset[str], after: Callable[[], None]):
        self.inner, self.types, self.after = inner, types, after

    def run_once(self, event: Event, handler: Handler) -> bool:
        if event.type not in self.types:
            return False
        ran = self.inner.run_once(event, handler)
        if ran:
            self.after()
        return ran


def build_channels(settings: NotificationsSettings, db: Database, redis_url: str,
                   clock: Callable[[], datetime]) -> dict[str, Channel]:
    sms: Channel = (HttpSmsChannel(settings.sms_url, api_key=settings.sms_api_key,
                                   timeout=settings.send_timeout_s)
                    if settings.sms_url else DevOutboxSmsChannel(db, clock))
    return {
        "email": EmailChannel(settings.effective_smtp_url, sender=settings.mail_from,
                              connections=settings.smtp_connections, timeout=settings.send_timeout_s),
        "sms": sms,
        "push": PushChannel(async_client(redis_url)),
    }


class Worker:
    def __init__(self, settings: NotificationsSettings, *, redis_url: str | None = None,
                 clock: Callable[[], datetime] = utcnow, consumer_name: str | None = None,
                 block_ms: int = 1000):
        self.settings = settings
        self.redis_url = redis_url or resolve_redis_url(settings.redis_url, settings.data_dir)
        self.db = database(settings)
        self.block_ms = block_ms
        self.redis = sync_client(self.redis_url)
        self.channels = build_channels(settings, self.db, self.redis_url, clock)
        self.dispatcher = Dispatcher(db=self.db, channels=self.channels, settings=settings,
                                     clock=clock)
        planner = Planner(settings=settings, renderer=Renderer(), clock=clock)
        self.notifier = Notifier(settings=settings, redis=self.redis, planner=planner)
        self.consumer = Consumer(
            self.redis, group=GROUP, streams=STREAMS, handler=self.notifier.handle,
            idempotency=RelevantOnly(SqlIdempotency(self.db, PROCESSED, GROUP), HANDLED_TYPES,
                                     self.after_commit),
            consumer_name=consumer_name)
        self.ready = threading.Event()
        """Set once migrated and consuming (tests and the benchmark wait for it)."""

    def after_commit(self) -> None:
        """An event's rows are committed: push live copies now, wake the send loops."""
        self.notifier.publish_pushes()
        self.dispatcher.notify()

    async def check_smtp(self) -> None:
        """A configured SMTP server must answer at start. The embedded sink is not checked: it
        may still be starting, and the dispatcher retries until it answers."""
        email = self.channels["email"]
        assert isinstance(email, EmailChannel)
        if self.settings.embedded_smtp:
            return
        try:
            await email.check()
        except Exception as exc:
            raise SystemExit(f"SMTP_URL is set but the server does not answer: {exc}") from exc

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.to_thread(self.db.migrate)
        await self.check_smtp()
        consumer_stop = threading.Event()
        thread = threading.Thread(target=self.consumer.run, args=(consumer_stop,),
                                  kwargs={"block_ms": self.block_ms}, daemon=True,
                                  name="notifications-consumer")
        thread.start()
        self.ready.set()
        try:
            await self.dispatcher.run(stop)
        finally:
            consumer_stop.set()
            await asyncio.to_thread(thread.join, 10)
            for channel in self.channels.values():
                await channel.close()
            self.redis.close()
            self.db.dispose()


def main() -> None:
    from services.platform.logging import configure_logging

    settings = NotificationsSettings()
    configure_logging("notifications-worker", settings.log_level)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await Worker(settings).run(stop)

    asyncio.run(serve())


if __name__ == "__main__":
    main()
