"""Delivers the signed webhooks the payments service owes the orders service.

Rows are written in the same transaction as the payment change they report (an outbox of
HTTP calls), so a webhook exists if and only if the change committed. Each POST is signed with
the Standard Webhooks scheme (`webhook-id`, `webhook-timestamp`, `webhook-signature`: HMAC-SHA256
over `id.timestamp.body`); failures are retried with exponential backoff until
`webhook_max_attempts`, then parked (`dead_at`) for an operator. The receiver deduplicates by
`webhook-id` (the event id), so a retry after a lost answer has no second effect.
"""

from __future__ import annotations

import http.client
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import orjson
import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from services.payments import domain
from services.payments.settings import PaymentsSettings
from services.payments.store import WEBHOOK_DUE, WebhookDelivery, due_webhooks
from services.platform.db import Database, Probe
from services.platform.http_pool import Pool

log = structlog.get_logger("payments.webhooks")


def signed_headers(secret: str, msg_id: str, body: bytes, now: datetime) -> dict[str, str]:
    signature = Webhook(secret.encode()).sign(msg_id=msg_id, timestamp=now, data=body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature, "content-type": "application/json"}


class WebhookSender:
    def __init__(self, db: Database, settings: PaymentsSettings):
        self.db = db
        self.settings = settings
        self._pools: dict[str, Pool] = {}
        """Kept-alive connections per receiver, as every service-to-service caller has."""
        self.stats = {"delivered": 0, "failed": 0, "dead": 0}
        self._any_due = Probe(db, select(WebhookDelivery.id).where(*WEBHOOK_DUE))

    def deliver_due(self, limit: int = 50) -> int:
        """Attempt every due delivery once; return how many were delivered."""
        now = datetime.now(UTC)
        if not self._any_due(now=now):
            return 0
        with self.db.read() as session:
            due = due_webhooks(session, now, limit)
        sent = [(row, *self._send(row)) for row in due]
        # The round's outcomes in one transaction (one per webhook was most of the sender's
        # CPU). A crash before it commits sends them again: the receiver dedupes by webhook-id.
        with self.db.session() as session:
            return sum(self._record(session, row, at, error) for row, at, error in sent)

    def _send(self, row: WebhookDelivery) -> tuple[datetime, str | None]:
        """POST it once: (when, None) if the receiver took it, else (when, what went wrong)."""
        now = datetime.now(UTC)
        body = orjson.dumps(row.payload)
        try:
            status, answer = self._post(row.url, body,
                                        signed_headers(self.settings.webhook_secret, row.id, body, now))
        except (OSError, http.client.HTTPException) as exc:
            return now, f"{type(exc).__name__}: {exc}"[:500]
        return now, None if status < 300 else f"HTTP {status}: {answer[:200].decode(errors='replace')}"

    def _record(self, session: Session, row: WebhookDelivery, now: datetime, error: str | None) -> bool:
        fresh = session.get(WebhookDelivery, row.id)
        assert fresh is not None
        fresh.attempts += 1
        if error is None:
            fresh.delivered_at, fresh.last_error = now, None
            self.stats["delivered"] += 1
            return True
        fresh.last_error = error
        self.stats["failed"] += 1
        if fresh.attempts >= self.settings.webhook_max_attempts:
            fresh.dead_at = now
            self.stats["dead"] += 1
            log.error("webhook_dead", id=row.id, type=row.event_type, error=error)
        else:
            delay = domain.backoff_s(fresh.attempts, base=self.settings.webhook_base_delay_s)
            fresh.next_attempt_at = now + timedelta(seconds=delay)
            log.warning("webhook_failed", id=row.id, type=row.event_type,
                        attempt=fresh.attempts, retry_in_s=delay, error=error)
        return False

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        parts = urlsplit(url)
        base = f"{parts.scheme}://{parts.netloc}"
        pool = self._pools.get(base)
        if pool is None:
            pool = self._pools[base] = Pool(base, timeout_s=self.settings.webhook_timeout_s)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return pool.request("POST", path or "/", body=body, headers=headers)

    def run(self, stop: threading.Event | None = None, *, interval: float = 0.2) -> None:
        log.info("webhook_sender_started", url=self.settings.effective_orders_webhook_url)
        while stop is None or not stop.is_set():
            try:
                delivered = self.deliver_due()
                if delivered:
                    log.info("webhooks_delivered", count=delivered, **self.stats)
            except Exception:
                log.exception("webhook_round_failed")
            (stop or threading.Event()).wait(interval)
