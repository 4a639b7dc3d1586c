"""The demo carrier: moves every active shipment one step forward each `step_s` seconds.

It behaves like a real carrier would: it speaks each carrier's own status words and reports
over the signed webhook endpoint, so the demo exercises exactly the production path (signature,
dedup by event id, status machine, events, order delivered).
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import structlog
from standardwebhooks.webhooks import Webhook

from services.delivery import domain
from services.delivery.carriers import CARRIERS
from services.delivery.settings import DeliverySettings
from services.delivery.store import active_shipments
from services.platform.db import Database
from services.platform.utc import as_utc

log = structlog.get_logger("delivery.simulator")
CITIES = ("sorting centre", "regional hub", "local depot", "van")



def carrier_word(carrier: str, status: str) -> str:
    """The carrier's own word for one of our statuses (the inverse of its STATUS_MAP)."""
    return next(word for word, ours in CARRIERS[carrier].STATUS_MAP.items() if ours == status)


def signed_report(secret: str, body: dict) -> tuple[bytes, dict[str, str]]:
    raw = orjson.dumps(body)
    msg_id, now = uuid.uuid4().hex, datetime.now(UTC)
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": Webhook(secret.encode()).sign(msg_id, now, raw.decode()),
               "content-type": "application/json"}
    return raw, headers


class CarrierSimulator:
    def __init__(self, db: Database, settings: DeliverySettings, base_url: str,
                 client: httpx.Client | None = None):
        self.db, self.settings, self.base_url = db, settings, base_url.rstrip("/")
        self.client = client or httpx.Client(timeout=5)

    def step(self, now: datetime | None = None) -> int:
        """Advance every shipment idle for `simulator_step_s`; return how many moved."""
        now = now or datetime.now(UTC)
        idle = timedelta(seconds=self.settings.simulator_step_s)
        with self.db.read() as session:
            due = [s for s in active_shipments(session) if as_utc(s.updated_at) <= now - idle]
        moved = 0
        for s in due:
            status = domain.FORWARD[domain.FORWARD.index(s.status) + 1]
            body = {"event_id": uuid.uuid4().hex, "tracking_number": s.tracking_number,
                    "status": carrier_word(s.carrier, status),
                    "location": CITIES[min(domain.FORWARD.index(status) - 1, len(CITIES) - 1)],
                    "occurred_at": now.isoformat()}
            raw, headers = signed_report(self.settings.carrier_secret(s.carrier), body)
            r = self.client.post(f"{self.base_url}/api/delivery/webhooks/{s.carrier}", content=raw,
                                 headers=headers)
            if r.status_code == 200:
                moved += 1
            else:
                log.warning("report_refused", tracking=s.tracking_number, status=r.status_code)
        return moved

    def run(self, stop: threading.Event | None = None, *, interval: float = 1.0) -> None:
        log.info("carrier_simulator_started", step_s=self.settings.simulator_step_s)
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                moved = self.step()
                if moved:
                    log.info("shipments_advanced", count=moved)
            except Exception:
                log.exception("simulator_round_failed")
            stop.wait(interval)
