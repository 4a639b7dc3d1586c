"""Sends due deliveries over their channels, with retries and backoff.

A batch is claimed in one short transaction (status `sending`, a lease in `next_attempt_at`,
`attempts + 1`; `SKIP LOCKED` on PostgreSQL so several workers share the table), sent
concurrently outside any transaction, and the outcomes recorded in a second transaction. A worker
that dies mid-send leaves its claims to expire and be retried: delivery is at least once, and
email retries carry the same Message-ID. Temporary failures back off exponentially (with jitter)
up to `max_attempts`; permanent ones fail at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select

from services.notifications import domain
from services.notifications.channels import Channel, Outgoing, SendError
from services.notifications.settings import NotificationsSettings
from services.notifications.store import (
    FAILED,
    PENDING,
    SENDING,
    SENT,
    Delivery,
    due_deliveries,
    prune,
)
from services.platform.db import Database

log = structlog.get_logger("dispatcher")
LEASE_S = 120.0


@dataclass(frozen=True)
class Claimed:
    channel: str
    attempts: int
    outgoing: Outgoing


@dataclass(frozen=True)
class Outcome:
    delivery_id: str
    attempts: int
    error: SendError | None


class Dispatcher:
    def __init__(self, *, db: Database, channels: dict[str, Channel], settings: NotificationsSettings,
                 clock: Callable[[], datetime], rand: Callable[[], float] = random.random):
        self.db = db
        self.channels = channels
        self.settings = settings
        self.clock = clock
        self.rand = rand
        self.stats = {"sent": 0, "retried": 0, "failed": 0}
        self._wakes: dict[str, asyncio.Event] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def claim(self, channel: str | None = None) -> list[Claimed]:
        now = self.clock()
        with self.db.session() as session:
            rows = due_deliveries(session, now, self.settings.dispatch_batch, channel)
            claimed = []
            for row in rows:
                row.status, row.attempts = SENDING, row.attempts + 1
                row.next_attempt_at = now + timedelta(seconds=LEASE_S)
                claimed.append(Claimed(row.channel, row.attempts, Outgoing(
                    row.id, row.user_id, row.address, row.template, dict(row.payload))))
            return claimed

    async def _send(self, item: Claimed) -> Outcome:
        channel = self.channels.get(item.channel)
        try:
            if channel is None:
                raise SendError(f"no {item.channel} channel is configured", permanent=True)
            if item.channel != "push" and not item.outgoing.address:
                raise SendError("no address", permanent=True)
            await asyncio.wait_for(channel.send(item.outgoing), self.settings.send_timeout_s * 2)
            return Outcome(item.outgoing.delivery_id, item.attempts, None)
        except SendError as exc:
            return Outcome(item.outgoing.delivery_id, item.attempts, exc)
        except TimeoutError:
            return Outcome(item.outgoing.delivery_id, item.attempts, SendError("send timed out"))
        except Exception as exc:  # a channel bug must not kill the worker: retry, then fail
            log.exception("channel_error", channel=item.channel)
            return Outcome(item.outgoing.delivery_id, item.attempts, SendError(repr(exc)))

    def record(self, outcomes: list[Outcome]) -> None:
        now = self.clock()
        by_id = {o.delivery_id: o for o in outcomes}
        with self.db.session() as session:
            rows = session.scalars(select(Delivery).where(Delivery.id.in_(list(by_id))))
            for row in rows:
                outcome = by_id[row.id]
                if outcome.error is None:
                    row.status, row.sent_at, row.last_error = SENT, now, None
                    self.stats["sent"] += 1
                elif outcome.error.permanent or outcome.attempts >= self.settings.max_attempts:
                    row.status, row.last_error = FAILED, str(outcome.error)[:1000]
                    self.stats["failed"] += 1
                    log.warning("delivery_failed", delivery_id=row.id, channel=row.channel,
                                attempts=outcome.attempts, error=row.last_error)
                else:
                    delay = domain.retry_delay(attempt=outcome.attempts,
                                               base_s=self.settings.retry_base_s,
                                               cap_s=self.settings.retry_max_s, jitter=self.rand())
                    row.status, row.last_error = PENDING, str(outcome.error)[:1000]
                    row.next_attempt_at = now + timedelta(seconds=delay)
                    self.stats["retried"] += 1

    async def dispatch_once(self, channel: str | None = None) -> int:
        claimed = await asyncio.to_thread(self.claim, channel)
        if not claimed:
            return 0
        outcomes = await asyncio.gather(*(self._send(item) for item in claimed))
        await asyncio.to_thread(self.record, list(outcomes))
        log.info("dispatched", channel=channel, batch=len(claimed), **self.stats)
        return len(claimed)

    def notify(self) -> None:
        """Thread-safe: new deliveries were committed, look now instead of at the next poll."""
        if self._loop is not None:
            for wake in self._wakes.values():
                self._loop.call_soon_threadsafe(wake.set)

    def prune(self) -> dict[str, int]:
        cutoff = self.clock() - timedelta(days=self.settings.retention_days)
        with self.db.session() as session:
            removed = prune(session, cutoff)
        log.info("pruned", **removed)
        return removed

    async def _prune_forever(self, stop: asyncio.Event, every_s: float = 3600) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.prune)
            except Exception:
                log.exception("prune_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)

    async def run(self, stop: asyncio.Event, *, idle_s: float = 0.5) -> None:
        """One loop per channel: a slow or failing SMTP server never holds back live push."""
        self._wakes = {name: asyncio.Event() for name in self.channels}
        self._loop = asyncio.get_running_loop()
        await asyncio.gather(self._prune_forever(stop),
                             *(self._run_channel(name, stop, idle_s) for name in self.channels))

    async def _run_channel(self, channel: str, stop: asyncio.Event, idle_s: float) -> None:
        wake = self._wakes[channel]
        while not stop.is_set():
            try:
                wake.clear()
                if await self.dispatch_once(channel) >= self.settings.dispatch_batch:
                    continue  # more may be due right away
            except Exception:
                log.exception("dispatch_failed", channel=channel)
            waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waiters, timeout=idle_s, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
