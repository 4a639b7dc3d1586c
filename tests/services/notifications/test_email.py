"""Events on the bus become real emails in a real SMTP sink; replays send nothing twice; bad
events are dead-lettered without blocking the consumer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.inventory.events import BackInStock
from services.orders.events import OrderLine, OrderPaid, OrderPlaced
from services.payments.events import PaymentFailed
from services.platform.consumer import dlq_stream
from services.platform.events import Event
from services.users.events import EmailVerificationRequested, PasswordResetRequested, UserRegistered
from tests.services.notifications.conftest import Notifications, eventually

TOKEN = "t" * 43


def register(n: Notifications, user_id: str, email: str, **extra: object) -> Event:
    return n.publish(UserRegistered(user_id=user_id, email=email, **extra), source="users")


def test_verification_email_reaches_the_sink_with_text_html_and_link(notifications: Notifications) -> None:
    n = notifications
    register(n, "u1", "ann@example.com", full_name="Ann")
    n.publish(EmailVerificationRequested(user_id="u1", email="ann@example.com", token=TOKEN,
                                         expires_at=datetime.now(UTC) + timedelta(days=1)),
              source="users")
    [mail] = eventually(lambda: n.mails("ann@example.com"))
    assert mail.subject == "Confirm your email address"
    assert f"https://shop.test/verify-email?token={TOKEN}" in mail.links
    assert "Hello, Ann!" in mail.text
    assert mail.html is not None and f'href="https://shop.test/verify-email?token={TOKEN}"' in mail.html
    assert mail.message["Message-ID"].endswith("@shop.example>")
    assert "List-Unsubscribe" not in mail.message  # transactional: nothing to unsubscribe from
    # A verification link is a secret: it is not copied into the notification centre.
    r = n.http.get("/api/notifications", headers=n.auth("u1"))
    assert r.json()["total"] == 0


def test_russian_locale_from_registration_is_used(notifications: Notifications) -> None:
    n = notifications
    register(n, "u2", "boris@example.com", full_name="Борис", locale="ru")
    n.publish(OrderPaid(order_id="O-7", user_id="u2", payment_id="p1", amount_minor=123456,
                        currency="RUB"), source="orders")
    [mail] = eventually(lambda: n.mails("boris@example.com"))
    assert mail.subject == "Оплата заказа O-7 получена"
    assert "Здравствуйте, Борис!" in mail.text and "1\u00a0234.56 RUB" in mail.text
    assert 'lang="ru"' in (mail.html or "")


def test_replayed_event_sends_nothing_twice(notifications: Notifications) -> None:
    n = notifications
    register(n, "u3", "cy@example.com")
    reset = PasswordResetRequested(user_id="u3", email="cy@example.com", token=TOKEN,
                                   expires_at=datetime.now(UTC) + timedelta(hours=1))
    event = n.publish(reset, source="users")
    eventually(lambda: n.mails("cy@example.com"))
    n.publish(reset, source="users", event=event)  # the relay re-sent it after a crash
    n.publish(reset, source="users", event=event)
    marker = n.publish(OrderPaid(order_id="O-1", user_id="u3", payment_id="p", amount_minor=1,
                                 currency="EUR"), source="orders")
    eventually(lambda: len(n.mails("cy@example.com")) == 2)
    n.wait_idle()
    subjects = sorted(m.subject for m in n.mails("cy@example.com"))
    assert subjects == ["Payment received for order O-1", "Reset your password"]
    assert len(n.deliveries(event_id=event.id)) == 1
    assert n.worker is not None and n.worker.worker.consumer.stats["duplicates"] >= 2
    assert marker.id


def test_order_journey_lands_in_the_notification_centre(notifications: Notifications) -> None:
    n = notifications
    register(n, "u4", "dee@example.com")
    n.publish(OrderPlaced(order_id="O-9", user_id="u4", subtotal_minor=2500, total_minor=2500,
                          currency="EUR", lines=[OrderLine(sku="S-1", product_id="p-1", quantity=2,
                                                           unit_price_minor=1250)]), source="orders")
    n.publish(PaymentFailed(payment_id="p", order_id="O-9", user_id="u4", amount_minor=2500,
                            currency="EUR", method="card", reason="card declined"), source="payments")
    n.publish(BackInStock(sku="S-2", user_id="u4", product_id="p-2", available=3), source="inventory")
    eventually(lambda: len(n.mails("dee@example.com")) == 3)
    history = n.http.get("/api/notifications", headers=n.auth("u4")).json()
    assert history["total"] == 3 and history["unread"] == 3
    titles = {item["title"] for item in history["items"]}
    assert titles == {"Order O-9 received", "Payment failed for order O-9", "S-2 is back in stock"}
    stock = next(i for i in history["items"] if i["template"] == "back_in_stock")
    assert stock["link"] == "https://shop.test/products/p-2"
    failed = next(m for m in n.mails("dee@example.com") if "failed" in m.subject)
    assert "card declined" in failed.text
    # Optional categories carry a one-click unsubscribe header (RFC 8058).
    stock_mail = next(m for m in n.mails("dee@example.com") if "back in stock" in m.subject)
    assert stock_mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    first = history["items"][0]["id"]
    assert n.http.post(f"/api/notifications/{first}/read", headers=n.auth("u4")).status_code == 204
    assert n.http.get("/api/notifications", headers=n.auth("u4")).json()["unread"] == 2
    unread = n.http.get("/api/notifications?unread=true", headers=n.auth("u4")).json()
    assert first not in {i["id"] for i in unread["items"]} and unread["total"] == 2
    # Someone else's notification looks like a missing one.
    assert n.http.post(f"/api/notifications/{first}/read", headers=n.auth("u5")).status_code == 404
    assert n.http.get("/api/notifications", headers=n.auth("u5")).json()["total"] == 0
    assert n.http.post("/api/notifications/read-all", headers=n.auth("u4")).json() == {"updated": 2}
    assert n.http.get("/api/notifications").status_code == 401


def test_malformed_events_are_dead_lettered_and_the_consumer_goes_on(notifications: Notifications) -> None:
    n = notifications
    register(n, "u6", "eve@example.com")
    n.publish_raw("orders", b"{not json")
    bad = Event(type="order.paid", source="orders", data={"order_id": "O-1"})  # no user, no amount
    n.redis.xadd("shop:events:orders", {"event": bad.to_json()})
    n.publish(OrderPaid(order_id="O-2", user_id="u6", payment_id="p", amount_minor=500,
                        currency="EUR"), source="orders")
    eventually(lambda: n.mails("eve@example.com"))
    dead = eventually(lambda: n.redis.xrange(dlq_stream("notifications")) if
                      len(n.redis.xrange(dlq_stream("notifications"))) == 2 else None)
    reasons = sorted(fields[b"reason"].decode() for _, fields in dead)
    assert reasons[0].startswith("malformed envelope")
    assert reasons[1].startswith("payload does not fit order.paid") and "user_id" in reasons[1]
    assert n.redis.xpending("shop:events:orders", "notifications")["pending"] == 0


def test_invalid_email_is_recorded_as_failed_not_retried(notifications: Notifications) -> None:
    n = notifications
    register(n, "u7", "not-an-address")
    n.publish(OrderPaid(order_id="O-3", user_id="u7", payment_id="p", amount_minor=1,
                        currency="EUR"), source="orders")
    [failed] = eventually(lambda: n.deliveries(user_id="u7", channel="email"))
    assert failed.status == "failed" and "not a valid email" in (failed.last_error or "")
    # The in-app notification and push still happen.
    assert eventually(lambda: n.http.get("/api/notifications", headers=n.auth("u7")).json()["total"] == 1)


def test_failing_smtp_server_is_retried_with_backoff(make_notifications) -> None:  # type: ignore[no-untyped-def]
    from tests.support.servers import free_port

    dead_port = free_port()  # nothing listens here yet
    n = make_notifications(sink_port=dead_port, max_attempts=50)
    register(n, "u8", "fay@example.com")
    n.publish(OrderPaid(order_id="O-4", user_id="u8", payment_id="p", amount_minor=1,
                        currency="EUR"), source="orders")
    eventually(lambda: any(d.attempts >= 2 for d in n.deliveries(channel="email")))
    [pending] = n.deliveries(channel="email")
    assert pending.status in ("pending", "sending") and "unavailable" in (pending.last_error or "")
    from services.notifications.sink import Sink

    with Sink(n.settings.mailbox_dir, port=dead_port):
        [mail] = eventually(lambda: n.mails("fay@example.com"))
        assert mail.subject == "Payment received for order O-4"
        eventually(lambda: n.deliveries(channel="email")[0].status == "sent")


def test_old_events_update_the_projection_but_send_nothing(notifications: Notifications) -> None:
    n = notifications
    long_ago = datetime.now(UTC) - timedelta(days=30)
    old_user = UserRegistered(user_id="u9", email="gil@example.com", locale="ru")
    n.publish(old_user, source="users", event=Event(type="user.registered", source="users",
                                                    occurred_at=long_ago, data=old_user.model_dump()))
    old_order = OrderPaid(order_id="O-OLD", user_id="u9", payment_id="p", amount_minor=1, currency="EUR")
    n.publish(old_order, source="orders", event=Event(type="order.paid", source="orders",
                                                      occurred_at=long_ago, data=old_order.model_dump()))
    n.publish(OrderPaid(order_id="O-NEW", user_id="u9", payment_id="p", amount_minor=1,
                        currency="EUR"), source="orders")
    [mail] = eventually(lambda: n.mails("gil@example.com"))
    n.wait_idle()
    assert mail.subject == "Оплата заказа O-NEW получена"  # the old registration's locale counts
    assert len(n.mails("gil@example.com")) == 1


def test_two_workers_share_the_work_and_send_each_message_once(
        make_notifications, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    from tests.services.notifications.conftest import start_worker

    n = make_notifications()
    second = start_worker(n.settings, redis_url)
    try:
        for i in range(10):
            register(n, f"w{i}", f"w{i}@example.com")
        for i in range(40):
            n.publish(OrderPaid(order_id=f"O-{i}", user_id=f"w{i % 10}", payment_id="p",
                                amount_minor=i, currency="EUR"), source="orders")
        eventually(lambda: len(n.deliveries(channel="email")) == 40, timeout=30)
        n.wait_idle()
        ids = [m.message["Message-ID"] for m in n.mails()]
        assert len(ids) == 40 and len(set(ids)) == 40
        assert n.worker is not None
        assert n.worker.worker.consumer.stats["handled"] + second.worker.consumer.stats["handled"] == 50
    finally:
        second.stop()


def test_a_configured_smtp_server_must_answer_at_start(make_notifications, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    import pytest

    from services.notifications.worker import Worker
    from tests.support.servers import free_port

    n = make_notifications(worker=False, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    with pytest.raises(SystemExit, match="SMTP_URL is set but the server does not answer"):
        asyncio.run(Worker(n.settings, redis_url=redis_url).run(asyncio.Event()))


def test_an_order_event_ahead_of_the_registration_waits_for_it(notifications: Notifications) -> None:
    n = notifications
    n.publish(OrderPaid(order_id="O-EARLY", user_id="late", payment_id="p", amount_minor=1,
                        currency="EUR"), source="orders")
    assert n.worker is not None
    eventually(lambda: n.worker.worker.consumer.stats["failed"] >= 1)  # retried, not dropped
    register(n, "late", "late@example.com")
    [mail] = eventually(lambda: n.mails("late@example.com"))
    assert mail.subject == "Payment received for order O-EARLY"


def test_a_hanging_smtp_server_does_not_hold_back_push(make_notifications) -> None:  # type: ignore[no-untyped-def]
    import socket
    import time

    with socket.socket() as blackhole:  # accepts connections, never says a word
        blackhole.bind(("127.0.0.1", 0))
        blackhole.listen(16)
        n = make_notifications(sink_port=blackhole.getsockname()[1], send_timeout_s=3)
        register(n, "h1", "h1@example.com")
        n.publish(OrderPaid(order_id="O-A", user_id="h1", payment_id="p", amount_minor=1,
                            currency="EUR"), source="orders")
        eventually(lambda: any(d.status == "sending" for d in n.deliveries(channel="email")))
        pubsub = n.redis.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe("notifications:push:h1")
        started = time.monotonic()
        n.publish(OrderPaid(order_id="O-B", user_id="h1", payment_id="p", amount_minor=1,
                            currency="EUR"), source="orders")
        message = eventually(lambda: pubsub.get_message(timeout=0.05), timeout=5)
        assert b"O-B" in message["data"] and time.monotonic() - started < 1.0
        assert all(d.status != "sent" for d in n.deliveries(channel="email"))
        pubsub.close()


def test_old_finished_deliveries_are_pruned_but_the_centre_keeps_its_history(
        notifications: Notifications) -> None:
    n = notifications
    register(n, "u10", "hal@example.com")
    n.publish(OrderPaid(order_id="O-P", user_id="u10", payment_id="p", amount_minor=1,
                        currency="EUR"), source="orders")
    eventually(lambda: n.mails("hal@example.com"))
    n.wait_idle()
    assert n.worker is not None
    dispatcher = n.worker.worker.dispatcher
    assert dispatcher.prune() == {"deliveries": 0, "dev_sms": 0, "processed": 0}
    real_clock = dispatcher.clock
    dispatcher.clock = lambda: real_clock() + timedelta(days=31)
    try:
        removed = dispatcher.prune()
    finally:
        dispatcher.clock = real_clock
    assert removed["deliveries"] == 2 and removed["processed"] == 2
    assert n.deliveries() == []
    assert n.http.get("/api/notifications", headers=n.auth("u10")).json()["total"] == 1
