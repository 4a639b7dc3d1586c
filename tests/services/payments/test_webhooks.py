"""Signed webhooks to the orders service: signature, retries with backoff, parking."""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import FastAPI, Request, Response
from standardwebhooks.webhooks import Webhook

from services.payments.store import WebhookDelivery
from services.payments.webhooks import WebhookSender
from tests.services.orders.support import Running
from tests.services.payments.conftest import WEBHOOK_SECRET
from tests.support.servers import serve


def receiver(fail_first: int) -> tuple[FastAPI, list[dict[str, Any]]]:
    """A stand-in for the orders webhook endpoint: verifies, fails `fail_first` times."""
    app = FastAPI()
    seen: list[dict[str, Any]] = []
    calls = {"n": 0}

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        calls["n"] += 1
        payload = Webhook(WEBHOOK_SECRET.encode()).verify(await request.body(), dict(request.headers))
        if calls["n"] <= fail_first:
            return Response(status_code=503)
        seen.append({"id": request.headers["webhook-id"], **payload})
        return Response(status_code=204)

    return app, seen


def pay_order(payments: Running, order_id: str) -> dict[str, Any]:
    """Authorise, then capture: two events, so two webhooks."""
    card = payments.http.post("/api/payments/cards", headers=payments.auth(), json={
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}).json()
    r = payments.http.post("/api/payments", headers={**payments.auth(), "Idempotency-Key": order_id},
                           json={"amount_minor": 900, "currency": "EUR", "method": "card",
                                 "card_token": card["token"], "order_id": order_id, "capture": False})
    assert r.status_code == 201, r.text
    r = payments.http.post(f"/api/payments/{r.json()['id']}/capture", json={},
                           headers={**payments.auth("admin-1", admin=True),
                                    "Idempotency-Key": f"{order_id}:capture"})
    assert r.status_code == 200, r.text
    return r.json()


def test_webhooks_are_signed_retried_and_delivered_once(make_payments: Any) -> None:
    app, seen = receiver(fail_first=2)
    with serve(app) as base:
        payments: Running = make_payments(orders_webhook_url=f"{base}/hook")
        p = pay_order(payments, "order-" + uuid.uuid4().hex[:8])
        sender = WebhookSender(payments.app.state.db, payments.app.state.settings)
        assert sender.deliver_due() == 0  # both fail (503, 503)
        with payments.app.state.db.read() as session:
            rows = session.query(WebhookDelivery).all()
            assert [r.attempts for r in rows] == [1, 1]
            assert all(r.next_attempt_at > r.created_at for r in rows)
        deadline = time.monotonic() + 5
        while len(seen) < 2 and time.monotonic() < deadline:
            sender.deliver_due()
            time.sleep(0.05)
        assert [s["type"] for s in seen] == ["payment.authorized", "payment.captured"]
        assert seen[1]["data"]["payment_id"] == p["id"] and seen[1]["data"]["status"] == "captured"
        assert seen[0]["id"] != seen[1]["id"]  # one webhook-id per event: the dedup key
        assert sender.deliver_due() == 0  # nothing left


def test_undeliverable_webhooks_are_parked(make_payments: Any) -> None:
    payments: Running = make_payments(orders_webhook_url="http://127.0.0.1:9/hook",
                                      webhook_max_attempts=2, webhook_base_delay_s=0.0)
    pay_order(payments, "order-parked")
    sender = WebhookSender(payments.app.state.db, payments.app.state.settings)
    for _ in range(3):
        sender.deliver_due()
    with payments.app.state.db.read() as session:
        rows = session.query(WebhookDelivery).all()
    assert all(r.dead_at is not None and r.attempts == 2 and r.last_error for r in rows)
