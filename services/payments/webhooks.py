"""Delivers the signed webhooks the payments service owes the orders service.

Rows are written in the same transaction as the payment change they report (an outbox of
HTTP calls), so a webhook exists if and only if the change committed. Each POST is signed with
the Standard Webhooks scheme (`webhook-id`, `webhook-timestamp`, `webhook-signature`: HMAC-SHA256
over `id.timestamp.body`); failures are retried with exponential backoff until
`webhook_max_attempts`, then parked (`dead_at`) for an operator. The receiver deduplicates by
`webhook-id` (the event id), so a retry after a lost answer has no second effect.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import structlog
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from services.payments import domain
from services.payments.settings import PaymentsSettings
from services.payments.store import WEBHOOK_DUE, WebhookDelivery, due_webhooks
from services.platform.db import Database, Probe

log = structlog.get_logger("payments.webhooks")


def signed_headers(secret: str, msg_id: str, body: bytes, now: datetime) -> dict[str, str]:
    signature = Webhook(secret.encode()).sign(msg_id=msg_id, timestamp=now, data=body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature, "content-type": "application/json"}


class WebhookSender:
    def __init__(self, db: Database, settings: PaymentsSettings, client: httpx.Client | None = None):
        self.db = db
        self.settings = settings
        self.client = client or httpx.Client(timeout=settings.webhook_timeout_s)
        self.stats = {"delivered": 0, "failed": 0, "dead": 0}
        self._any_due = Probe(db, select(WebhookDelivery.id).where(*WEBHOOK_DUE))

    def deliver_due(self, limit: int = 50) -> int:
        """Attempt every due delivery once; return how many were delivered."""
        now = datetime.now(UTC)
        if not self._any_due(now=now):
            return 0
        with self.db.read() as session:
            due = due_webhooks(session, now, limit)
        return sum(self._attempt(row) for row in due)

    def _attempt(self, row: WebhookDelivery) -> bool:
        now = datetime.now(UTC)
        body = orjson.dumps(row.payload)
        error: str | None = None
        try:
            r = self.client.post(row.url, content=body,
                                 headers=signed_headers(self.settings.webhook_secret, row.id, body, now))
            if r.status_code >= 300:
                error = f"HTTP {r.status_code}: {r.text[:200]}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        with self.db.session() as session:
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
