"""Preferences, unsubscribe links, campaigns, SMS (provider retries, quiet hours) and the dev
mailbox, through the service's HTTP API and its worker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response

from services.inventory.events import BackInStock
from services.orders.events import OrderPaid
from services.users.events import UserRegistered
from tests.services.notifications.conftest import Notifications, eventually
from tests.support.servers import serve


def problem(r: Any, status: int, slug: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/" + slug), r.json()
    return r.json()


def paid(order_id: str, user_id: str) -> OrderPaid:
    return OrderPaid(order_id=order_id, user_id=user_id, payment_id="p", amount_minor=990,
                     currency="EUR")


def test_preferences_validate_and_transactional_cannot_be_switched_off(
        notifications: Notifications) -> None:
    n, me = notifications, notifications.auth("p1")
    prefs = n.http.get("/api/notifications/preferences", headers=me).json()
    assert prefs["categories"] == {"account": True, "orders": True, "back_in_stock": True,
                                   "marketing": False}
    assert (prefs["email"], prefs["sms"], prefs["push"]) == (True, False, True)
    url = "/api/notifications/preferences"
    problem(n.http.patch(url, json={"categories": {"orders": False}}, headers=me), 422,
            "invalid-preference")
    problem(n.http.patch(url, json={"categories": {"spam": True}}, headers=me), 422,
            "invalid-preference")
    problem(n.http.patch(url, json={"sms": True}, headers=me), 422, "invalid-preference")
    problem(n.http.patch(url, json={"phone": "12345"}, headers=me), 422, "invalid-preference")
    problem(n.http.patch(url, json={"phone": "+1 123 456 7890"}, headers=me), 422,
            "invalid-preference")
    problem(n.http.patch(url, json={"timezone": "Mars/Olympus"}, headers=me), 422,
            "invalid-preference")
    problem(n.http.patch(url, json={"quiet_start": "25:00"}, headers=me), 422, "validation-error")
    problem(n.http.patch(url, json={"colour": "blue"}, headers=me), 422, "validation-error")
    ok = n.http.patch(url, json={"phone": "+44 20 7946 0958", "sms": True, "quiet_start": "21:30",
                                 "quiet_end": "07:00", "timezone": "Europe/London",
                                 "categories": {"marketing": True, "back_in_stock": False}},
                      headers=me)
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["phone"] == "+442079460958" and body["sms"] is True
    assert body["categories"]["marketing"] is True and body["marketing_opt_in"] is True
    assert body["categories"]["back_in_stock"] is False
    assert n.http.get(url, headers=me).json() == body
    assert n.http.get(url).status_code == 401


def test_opting_out_of_a_category_or_of_email_is_honoured(notifications: Notifications) -> None:
    n = notifications
    n.publish(UserRegistered(user_id="p2", email="p2@example.com"), source="users")
    url = "/api/notifications/preferences"
    assert n.http.patch(url, json={"email": False}, headers=n.auth("p2")).status_code == 200
    n.publish(BackInStock(sku="S-1", user_id="p2", available=1), source="inventory")
    n.publish(paid("O-1", "p2"), source="orders")  # transactional: emailed anyway
    eventually(lambda: n.mails("p2@example.com"))
    n.wait_idle()
    assert [m.subject for m in n.mails("p2@example.com")] == ["Payment received for order O-1"]
    assert {(d.template, d.channel) for d in n.deliveries(user_id="p2")} == {
        ("back_in_stock", "push"), ("order_paid", "email"), ("order_paid", "push")}
    assert n.http.patch(url, json={"categories": {"back_in_stock": False}},
                        headers=n.auth("p2")).status_code == 200
    n.publish(BackInStock(sku="S-2", user_id="p2", available=1), source="inventory")
    n.publish(paid("O-2", "p2"), source="orders")
    eventually(lambda: len(n.mails("p2@example.com")) == 2)
    n.wait_idle()
    assert not [d for d in n.deliveries(user_id="p2") if "S-2" in str(d.payload)]
    titles = [i["title"] for i in n.http.get("/api/notifications", headers=n.auth("p2")).json()["items"]]
    assert "S-2 is back in stock" not in titles and "S-1 is back in stock" in titles


def test_campaigns_reach_only_opted_in_users_and_unsubscribe_links_work(
        notifications: Notifications) -> None:
    n = notifications
    n.publish(UserRegistered(user_id="a", email="a@example.com", marketing_opt_in=True), source="users")
    n.publish(UserRegistered(user_id="b", email="b@example.com", marketing_opt_in=False), source="users")
    n.publish(UserRegistered(user_id="c", email="c@example.com", marketing_opt_in=True,
                             locale="ru"), source="users")
    eventually(lambda: n.worker and n.worker.worker.consumer.stats["handled"] >= 3)
    url = "/api/notifications/campaigns"
    params = {"headline": "Winter sale", "body": "Everything -20%", "link": "https://shop.test/sale"}
    assert n.http.post(url, json={"template": "campaign", "params": params},
                       headers=n.auth("a")).status_code == 403
    problem(n.http.post(url, json={"template": "nope", "params": params}, headers=n.admin()),
            422, "unknown-template")
    problem(n.http.post(url, json={"template": "order_paid", "params": params}, headers=n.admin()),
            422, "unknown-template")
    problem(n.http.post(url, json={"template": "campaign", "params": {"headline": "x"}},
                        headers=n.admin()), 422, "template-parameters")
    r = n.http.post(url, json={"template": "campaign", "params": params, "campaign_id": "winter"},
                    headers=n.admin())
    assert r.status_code == 202, r.text
    assert r.json() == {"campaign_id": "winter", "queued": 2, "skipped": 0}
    problem(n.http.post(url, json={"template": "campaign", "params": params, "campaign_id": "winter"},
                        headers=n.admin()), 409, "campaign-sent")
    mail = eventually(lambda: n.mails("c@example.com"))[0]
    eventually(lambda: n.mails("a@example.com"))
    assert mail.subject == "Winter sale" and "Отписаться" in mail.text
    assert n.mails("b@example.com") == []
    [unsubscribe] = [link for link in mail.links if "/unsubscribe?token=" in link]
    assert mail.message["List-Unsubscribe"] == f"<{unsubscribe}>"
    path = unsubscribe.removeprefix("https://shop.test")

    page = n.http.get(path)  # a link scanner opening the link changes nothing
    assert page.status_code == 200 and "<form method=post" in page.text
    problem(n.http.post(path[:-3] + "xyz"), 422, "invalid-unsubscribe-token")
    done = n.http.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and done.json()["category"] == "marketing"
    prefs = n.http.get("/api/notifications/preferences", headers=n.auth("c")).json()
    assert prefs["marketing_opt_in"] is False

    offer = {"code": "ANN15", "discount": "15%", "link": "https://shop.test"}
    r = n.http.post(url, json={"template": "personal_offer", "params": offer,
                               "user_ids": ["a", "b", "c"]}, headers=n.admin())
    assert r.json()["queued"] == 1 and r.json()["skipped"] == 2
    eventually(lambda: len(n.mails("a@example.com")) == 2)
    n.wait_idle()
    assert len(n.mails("c@example.com")) == 1 and n.mails("b@example.com") == []


@pytest.fixture
def sms_provider() -> Iterator[tuple[str, dict[str, Any]]]:
    """A real HTTP SMS provider stand-in: fails the first `fail` requests with 503, refuses
    numbers in `reject` with 400, records what it accepted."""
    state: dict[str, Any] = {"fail": 0, "reject": set(), "received": [], "calls": 0}
    app = FastAPI()
    app.get("/health")(lambda: {"status": "ok"})

    @app.post("/messages")
    async def send(request: Request, response: Response) -> dict[str, str]:
        body = await request.json()
        state["calls"] += 1
        assert request.headers["authorization"] == "Bearer sms-key"
        if state["fail"] > 0:
            state["fail"] -= 1
            response.status_code = 503
            return {"error": "busy"}
        if body["to"] in state["reject"]:
            response.status_code = 400
            return {"error": "unroutable number"}
        state["received"].append(body)
        return {"id": body["reference"]}

    with serve(app) as base:
        yield f"{base}/messages", state


def sms_user(n: Notifications, user_id: str, phone: str, **prefs: Any) -> None:
    n.publish(UserRegistered(user_id=user_id, email=f"{user_id}@example.com"), source="users")
    r = n.http.patch("/api/notifications/preferences",
                     json={"phone": phone, "sms": True, **prefs}, headers=n.auth(user_id))
    assert r.status_code == 200, r.text


def test_sms_provider_failures_are_retried_and_rejections_are_final(
        make_notifications: Callable[..., Notifications], sms_provider: tuple[str, dict[str, Any]]) -> None:
    url, state = sms_provider
    n = make_notifications(sms_url=url, sms_api_key="sms-key")
    sms_user(n, "s1", "+1 650 253 0000")
    sms_user(n, "s2", "+44 20 7946 0958")
    state["fail"], state["reject"] = 2, {"+442079460958"}
    n.publish(paid("O-5", "s1"), source="orders")
    [sms] = eventually(lambda: state["received"])
    assert sms["to"] == "+16502530000" and "O-5" in sms["body"]
    delivery = eventually(lambda: [d for d in n.deliveries(channel="sms", user_id="s1")
                                   if d.status == "sent"])[0]
    assert delivery.attempts == 3 and sms["reference"] == delivery.id
    n.publish(paid("O-6", "s2"), source="orders")
    rejected = eventually(lambda: [d for d in n.deliveries(channel="sms", user_id="s2")
                                   if d.status == "failed"])[0]
    assert rejected.attempts == 1 and "400" in (rejected.last_error or "")


def test_quiet_hours_hold_sms_but_not_email(notifications: Notifications) -> None:
    n = notifications
    now = datetime.now(UTC)
    start, end = (now - timedelta(hours=1)).strftime("%H:%M"), (now + timedelta(hours=2)).strftime("%H:%M")
    sms_user(n, "q1", "+1 650 253 0000", quiet_start=start, quiet_end=end, timezone="UTC")
    sms_user(n, "q2", "+1 650 253 0001")
    n.publish(paid("O-7", "q1"), source="orders")
    n.publish(paid("O-8", "q2"), source="orders")
    eventually(lambda: n.mails("q1@example.com"))
    outbox = eventually(lambda: n.http.get("/api/notifications/dev/sms", headers=n.admin()).json()["items"])
    assert [s["to"] for s in outbox] == ["+16502530001"]  # q1 is in quiet hours
    [held] = n.deliveries(channel="sms", user_id="q1")
    assert held.status == "pending" and held.attempts == 0
    held_until = held.next_attempt_at.replace(tzinfo=UTC)
    assert timedelta(hours=1, minutes=58) < held_until - now < timedelta(hours=2, minutes=1)


def test_dev_mailbox_is_for_admins_outside_development(
        make_notifications: Callable[..., Notifications]) -> None:
    n = make_notifications()
    n.publish(paid("O-9", "m1"), source="orders")
    n.publish(UserRegistered(user_id="m2", email="m2@example.com"), source="users")
    n.publish(paid("O-10", "m2"), source="orders")
    eventually(lambda: n.mails("m2@example.com"))
    url = "/api/notifications/dev/mailbox"
    assert n.http.get(url).status_code == 401
    assert n.http.get(url, headers=n.auth("m2")).status_code == 403
    box = n.http.get(url, params={"to": "m2@example.com"}, headers=n.admin()).json()
    assert box["total"] == 1 and box["items"][0]["subject"] == "Payment received for order O-10"
    assert "https://shop.test/orders/O-10" in box["items"][0]["links"]

    dev = make_notifications(worker=False, env="development")
    assert dev.http.get(url).json()["total"] == 1  # open in development, no token needed
    real = make_notifications(worker=False, smtp_url="smtp://127.0.0.1:1")
    problem(real.http.get(url, headers=n.admin()), 404, "not-found")
