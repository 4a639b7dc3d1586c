"""The checkout saga end to end over HTTP: the happy path, failures that compensate,
idempotency, and what the shopper and the admin can do afterwards."""

from __future__ import annotations

import concurrent.futures
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from sqlalchemy import func, select

from services.delivery.simulator import CarrierSimulator
from services.delivery.store import OUTBOX as DELIVERY_OUTBOX
from services.orders.consumer import consumers
from services.orders.store import PROCESSED
from services.payments.webhooks import WebhookSender, signed_headers
from services.platform.outbox import OutboxRelay
from tests.services.orders.conftest import ADMIN, WEBHOOK_SECRET, Shop
from tests.services.orders.support import problem


def test_checkout_completes_and_everything_agrees(shop: Shop) -> None:
    n = shop.n
    mug, knife = n.product(999, stock=5), n.product(4_500, stock=3)
    order = shop.checkout("ann", [(mug, 2), (knife, 1)])
    assert order["status"] == "fulfilling", order
    assert order["subtotal_minor"] == 2 * 999 + 4_500
    assert order["total_minor"] == order["subtotal_minor"] - order["discount_minor"] + order["shipping_minor"]
    assert order["tracking"]["tracking_number"] and order["payment_id"]
    detail = shop.detail(order["id"], "ann")
    assert [h["to_status"] for h in detail["history"]] == ["pending", "awaiting_payment", "paid",
                                                           "fulfilling"]
    assert n.stock(mug)["on_hand"] == 3 and n.stock(mug)["reserved"] == 0
    assert n.stock(knife)["on_hand"] == 2
    [payment] = n.payments_of(order["id"])
    assert payment["status"] == "captured" and payment["captured_minor"] == order["total_minor"]
    assert n.ledger_balanced()
    types = [e["type"] for e in shop.orders.events()]
    assert types[0] == "order.placed" and "order.paid" in types


def test_same_key_same_order_and_other_body_conflicts(shop: Shop) -> None:
    n = shop.n
    pid = n.product(1_200, stock=5)
    body = n.order_body("bob", [(pid, 1)])
    first = shop.place("bob", body, key="key-1")
    again = shop.place("bob", body, key="key-1")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    other = {**body, "address": {**body["address"], "city": "Hamburg"}}
    problem(shop.place("bob", other, key="key-1"), 409, "idempotency-key-reused")
    problem(shop.place("bob", body, key="key-2"), 409, "snapshot-accepted")
    assert len(n.payments_of(first.json()["id"])) == 1


def test_ten_concurrent_submissions_make_one_order_and_one_charge(shop: Shop) -> None:
    n = shop.n
    pid = n.product(2_000, stock=5)
    body = n.order_body("cat", [(pid, 2)])
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: shop.place("cat", body, key="same"), range(10)))
    assert sorted(r.status_code for r in answers) == [200] * 9 + [201]
    ids = {r.json()["id"] for r in answers}
    assert len(ids) == 1
    order_id = ids.pop()
    listed = shop.orders.http.get("/api/orders", headers=n.issuer.auth("cat")).json()
    assert listed["total"] == 1
    assert shop.settled(order_id)["status"] == "fulfilling"
    [payment] = n.payments_of(order_id)
    assert payment["captured_minor"] == shop.detail(order_id)["total_minor"]
    assert n.stock(pid)["on_hand"] == 3


def test_declined_card_fails_the_order_and_gives_everything_back(shop: Shop) -> None:
    n = shop.n
    pid = n.product(1_500, stock=4)
    order = shop.checkout("dan", [(pid, 3)], card="declined")
    assert order["status"] == "payment_failed" and "card_declined" in order["cancel_reason"]
    assert n.stock(pid)["available"] == 4 and n.stock(pid)["reserved"] == 0
    detail = shop.detail(order["id"])
    assert detail["saga"]["state"] == "compensated"
    cart = n.cart.http.get("/api/cart", headers=n.issuer.auth("dan")).json()
    assert [i["quantity"] for i in cart["items"]] == [3]  # the cart is kept for another try
    assert [p["status"] for p in n.payments_of(order["id"])] == ["failed"]
    assert "order.cancelled" in [e["type"] for e in shop.orders.events()]


def test_out_of_stock_cancels_without_touching_money(shop: Shop) -> None:
    n = shop.n
    scarce, plenty = n.product(500, stock=2), n.product(700, stock=9)
    body = n.order_body("eve", [(scarce, 2), (plenty, 1)])
    n.adjust(n.sku(scarce), -1)  # someone else bought one meanwhile
    r = shop.place("eve", body)
    assert r.status_code == 201 and r.json()["status"] == "cancelled"
    assert "out of stock" in r.json()["cancel_reason"]
    assert n.stock(scarce)["available"] == 1 and n.stock(plenty)["available"] == 9
    assert n.payments_of(r.json()["id"]) == []


def test_payments_down_fails_cleanly_and_releases_stock(make_shop: Callable[..., Shop]) -> None:
    shop = make_shop(payments_url="http://127.0.0.1:9", saga_max_attempts=2)
    n = shop.n
    pid = n.product(900, stock=3)
    card_body = n.order_body("fay", [(pid, 2)])
    problem(shop.place("fay", card_body), 503, "checkout-unavailable")  # the card cannot be checked
    assert shop.orders.events() == []
    body = {**card_body, "payment": {"method": "wallet"}}  # no up-front check: fails in the saga
    r = shop.place("fay", body)
    assert r.status_code == 201
    order_id = r.json()["id"]
    deadline = time.monotonic() + 20
    while (shop.detail(order_id)["saga"]["compensations"][:1] != ["settle_payment"]
           and time.monotonic() < deadline):
        time.sleep(0.05)
    detail = shop.detail(order_id)
    assert detail["status"] == "payment_failed" and "unavailable" in detail["cancel_reason"]
    assert n.stock(pid)["available"] == 3 and n.stock(pid)["reserved"] == 0
    # Settling the money waits for the payments service; nothing was charged meanwhile.
    assert detail["saga"]["state"] == "compensating"
    assert n.payments_of(order_id) == []


def test_card_confirmation_step_resumes_the_saga_by_signed_webhook(shop: Shop) -> None:
    n = shop.n
    n.payments.app.state.settings.orders_webhook_url = f"{shop.orders.base_url}/api/orders/webhooks/payments"
    pid = n.product(3_000, stock=2)
    order = shop.checkout("gus", [(pid, 1)], card="3ds")
    assert order["status"] == "awaiting_payment" and order["payment_action"] == "confirm_card"
    assert n.stock(pid)["reserved"] == 1
    r = n.payments.http.post(f"/api/payments/{order['payment_id']}/confirm", json={"code": "424242"},
                             headers=n.issuer.auth("gus"))
    assert r.status_code == 200 and r.json()["status"] == "captured"
    sender = WebhookSender(n.payments.app.state.db, n.payments.app.state.settings)
    assert sender.deliver_due() >= 2  # action_required, captured: all delivered
    detail = shop.detail(order["id"])
    assert detail["status"] == "fulfilling" and detail["saga"]["state"] == "completed"
    assert n.stock(pid)["on_hand"] == 1 and n.stock(pid)["reserved"] == 0


def test_webhooks_must_be_signed_and_count_once(shop: Shop) -> None:
    url = "/api/orders/webhooks/payments"
    raw = orjson.dumps({"id": "e", "type": "payment.captured", "data": {"order_id": "nope"}})
    problem(shop.orders.http.post(url, content=raw, headers=signed_headers("wrong", "m1", raw,
                                                                          datetime.now(UTC))),
            401, "invalid-signature")
    problem(shop.orders.http.post(url, content=raw), 401, "invalid-signature")
    headers = signed_headers(WEBHOOK_SECRET, str(uuid.uuid4()), raw, datetime.now(UTC))
    assert shop.orders.http.post(url, content=raw, headers=headers).status_code == 204
    assert shop.orders.http.post(url, content=raw, headers=headers).status_code == 204
    processed = select(func.count()).select_from(PROCESSED)
    with shop.orders.app.state.db.read() as session:  # news of no order changes nothing
        assert session.scalar(processed) == 0
    # A saga waiting for the shopper's card confirmation: the news wakes it, once.
    order = shop.checkout("gus", [(shop.n.product(3_000, stock=2), 1)], card="3ds")
    assert order["status"] == "awaiting_payment"
    news = orjson.dumps({"id": "e2", "type": "payment.captured", "data": {"order_id": order["id"]}})
    headers = signed_headers(WEBHOOK_SECRET, str(uuid.uuid4()), news, datetime.now(UTC))
    assert shop.orders.http.post(url, content=news, headers=headers).status_code == 204
    assert shop.orders.http.post(url, content=news, headers=headers).status_code == 204
    with shop.orders.app.state.db.read() as session:
        assert session.scalar(processed) == 1


def test_crypto_invoice_confirmed_on_chain_completes_the_order(shop: Shop) -> None:
    n = shop.n
    n.payments.app.state.settings.orders_webhook_url = f"{shop.orders.base_url}/api/orders/webhooks/payments"
    pid = n.product(5_000, stock=1)
    order = shop.checkout("hal", [(pid, 1)], method="crypto")
    assert order["status"] == "awaiting_payment" and order["payment_action"] == "pay_invoice"
    payment = n.payments_of(order["id"])[0]
    report = orjson.dumps({"event_id": "tx1", "address": payment["invoice"]["address"],
                           "amount_minor": payment["amount_minor"], "confirmations": 6})
    chain_headers = signed_headers(n.payments.app.state.settings.chain_secret, "c1", report,
                                   datetime.now(UTC))
    assert n.payments.http.post("/api/payments/webhooks/chain", content=report,
                                headers=chain_headers).json()["status"] == "captured"
    WebhookSender(n.payments.app.state.db, n.payments.app.state.settings).deliver_due()
    assert shop.detail(order["id"])["status"] == "fulfilling"


def test_cancel_after_booking_restocks_refunds_and_cancels_the_shipment(shop: Shop) -> None:
    n = shop.n
    pid = n.product(2_500, stock=3)
    order = shop.checkout("ida", [(pid, 2)])
    assert n.stock(pid)["on_hand"] == 1
    problem(shop.orders.http.post(f"/api/orders/{order['id']}/cancel", headers=n.issuer.auth("x")),
            404, "unknown-order")
    r = shop.orders.http.post(f"/api/orders/{order['id']}/cancel", json={"reason": "changed my mind"},
                              headers=n.issuer.auth("ida"))
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    detail = shop.detail(order["id"])
    assert detail["saga"]["state"] == "compensated"
    assert n.stock(pid)["on_hand"] == 3
    [payment] = n.payments_of(order["id"])
    assert payment["status"] == "refunded" and detail["refunded_minor"] == order["total_minor"]
    ship = n.delivery.http.get("/api/delivery/shipments", params={"order_id": order["id"]},
                               headers=n.issuer.auth("ida")).json()["items"][0]
    assert ship["status"] == "cancelled"
    problem(shop.orders.http.post(f"/api/orders/{order['id']}/cancel", headers=n.issuer.auth("ida")),
            409, "order-not-cancellable")
    assert n.ledger_balanced()


def test_cancel_during_the_last_step_is_not_lost(shop: Shop, monkeypatch: Any) -> None:
    """The shopper cancels while the saga books the shipment (the last step): the saga finishes,
    then honours the cancel instead of dropping it with the finished record."""
    n = shop.n
    pid = n.product(1_800, stock=2)
    neighbours = shop.orders.app.state.orders.n
    book = neighbours.ship
    answers: list[httpx.Response] = []

    def ship_while_the_shopper_cancels(order: dict[str, Any]) -> dict[str, Any]:
        answers.append(shop.orders.http.post(f"/api/orders/{order['id']}/cancel",
                                             json={"reason": "ordered by mistake"},
                                             headers=n.issuer.auth("uma")))
        return book(order)

    monkeypatch.setattr(neighbours, "ship", ship_while_the_shopper_cancels)
    order = shop.checkout("uma", [(pid, 1)])
    [accepted] = answers
    assert accepted.status_code == 200, accepted.text  # taken while the saga held the lease
    detail = shop.settled(order["id"])
    assert (detail["status"], detail["saga"]["state"]) == ("cancelled", "compensated"), detail
    assert [h["to_status"] for h in detail["history"]][-2:] == ["fulfilling", "cancelled"]
    assert n.stock(pid) == {**n.stock(pid), "on_hand": 2, "reserved": 0}
    [payment] = n.payments_of(order["id"])
    assert payment["status"] == "refunded" and detail["refunded_minor"] == order["total_minor"]
    assert n.ledger_balanced()


def test_shipment_events_deliver_the_order_then_return_and_refund(shop: Shop, redis_client: Any) -> None:
    n = shop.n
    pid = n.product(4_000, stock=2)
    order = shop.checkout("jon", [(pid, 1)])
    problem(shop.orders.http.post(f"/api/orders/{order['id']}/returns", json={"reason": "too early"},
                                  headers=n.issuer.auth("jon")), 409, "order-not-delivered")
    sim = CarrierSimulator(n.delivery.app.state.db, n.delivery.app.state.settings.model_copy(
        update={"simulator_step_s": 0}), n.delivery.base_url)
    relay = OutboxRelay(n.delivery.app.state.db, DELIVERY_OUTBOX, redis_client, "delivery")
    shipments, _ = consumers(shop.orders.app.state.orders, redis_client)
    sim.step()
    relay.relay_once()
    shipments.poll_once(block_ms=10)
    assert shop.detail(order["id"])["status"] == "shipped"
    for _ in range(3):
        sim.step()
    relay.relay_once()
    shipments.poll_once(block_ms=10)
    assert shop.detail(order["id"])["status"] == "delivered"
    assert "order.delivered" in [e["type"] for e in shop.orders.events()]
    problem(shop.orders.http.post(f"/api/orders/{order['id']}/cancel", headers=n.issuer.auth("jon")),
            409, "order-not-cancellable")
    ret = shop.orders.http.post(f"/api/orders/{order['id']}/returns",
                                json={"reason": "scratched lid", "amount_minor": 1_000},
                                headers=n.issuer.auth("jon"))
    assert ret.status_code == 201 and ret.json()["status"] == "requested"
    admin = n.issuer.auth(ADMIN, admin=True)
    act = f"/api/orders/admin/{order['id']}/actions"
    problem(shop.orders.http.post(act, json={"action": "refund", "reason": "return accepted",
                                             "amount_minor": 10**7}, headers=admin),
            422, "refund-too-large")
    r = shop.orders.http.post(act, json={"action": "refund", "reason": "return accepted",
                                         "amount_minor": 1_000}, headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "partially_refunded"
    detail = shop.detail(order["id"])
    assert detail["refunded_minor"] == 1_000 and detail["returns"][0]["status"] == "refunded"
    problem(shop.orders.http.post(act, json={"action": "refund", "reason": "x"}, headers=admin),
            422, "validation-error")
    problem(shop.orders.http.post(act, json={"action": "refund", "reason": "rest"},
                                  headers=n.issuer.auth("jon")), 403, "forbidden")
    assert n.ledger_balanced()


def test_bad_input_is_refused_and_nothing_is_written(shop: Shop) -> None:
    n = shop.n
    pid = n.product(1_000, stock=5)
    body = n.order_body("kim", [(pid, 1)])
    cases = [
        ({**body, "snapshot_id": "00000000-0000-0000-0000-000000000000"}, 422, "unknown-snapshot"),
        ({**body, "address": {k: v for k, v in body["address"].items() if k != "city"}}, 422,
         "validation-error"),
        ({**body, "delivery": {"quote_id": "q_" + "0" * 32}}, 422, "unsupported-delivery-option"),
        ({**body, "address": {**body["address"], "country": "FR"}}, 422, "unsupported-delivery-option"),
        ({**body, "payment": {"method": "card"}}, 422, "validation-error"),
        ({**body, "payment": {"method": "card", "card_token": "4242424242424242"}}, 422,
         "validation-error"),
        ({**body, "extra": 1}, 422, "validation-error"),
    ]
    for payload, status, slug in cases:
        problem(shop.place("kim", payload), status, slug)
    problem(shop.place("lou", body), 422, "unknown-snapshot")  # another shopper's snapshot
    lous = n.order_body("lou", [(pid, 1)])
    problem(shop.place("kim", {**body, "delivery": lous["delivery"]}), 422, "unsupported-delivery-option")
    problem(shop.place("kim", {**body, "payment": lous["payment"]}), 422, "unknown-card")
    r = shop.orders.http.post("/api/orders", json=body, headers=n.issuer.auth("kim"))
    problem(r, 422, "validation-error")  # no Idempotency-Key
    problem(shop.orders.http.post("/api/orders", content=b"{", headers={
        **n.issuer.auth("kim"), "Idempotency-Key": "k", "content-type": "application/json"}),
        400, "malformed-json")
    assert shop.orders.events() == []
    order = shop.checkout("kim", [(pid, 1)])
    problem(shop.orders.http.get(f"/api/orders/{order['id']}", headers=n.issuer.auth("lou")),
            404, "unknown-order")
    admin = n.issuer.auth(ADMIN, admin=True)
    r = shop.orders.http.post(f"/api/orders/admin/{order['id']}/actions", headers=admin,
                              json={"action": "mark_shipped", "reason": "carrier scan lost"})
    assert r.json()["status"] == "shipped"
    problem(shop.orders.http.post(f"/api/orders/admin/{order['id']}/actions", headers=admin,
                                  json={"action": "mark_shipped", "reason": "again"}),
            409, "illegal-transition")
    history = shop.detail(order["id"])["history"]
    assert history[-1]["reason"] == "carrier scan lost" and history[-1]["actor"] == ADMIN


def test_history_lists_and_admin_filters(shop: Shop) -> None:
    n = shop.n
    pid = n.product(800, stock=10)
    ok = [shop.checkout("max", [(pid, 1)]) for _ in range(3)]
    failed = shop.checkout("max", [(pid, 1)], card="declined")
    mine = shop.orders.http.get("/api/orders", params={"limit": 2}, headers=n.issuer.auth("max")).json()
    assert mine["total"] == 4 and len(mine["items"]) == 2
    assert mine["items"][0]["id"] == failed["id"]  # newest first
    only = shop.orders.http.get("/api/orders", params={"status": "payment_failed"},
                                headers=n.issuer.auth("max")).json()
    assert [o["id"] for o in only["items"]] == [failed["id"]]
    problem(shop.orders.http.get("/api/orders", params={"status": "bogus"}, headers=n.issuer.auth("max")),
            422, "validation-error")
    admin = n.issuer.auth(ADMIN, admin=True)
    every = shop.orders.http.get("/api/orders/admin", params={"user_id": "max", "status": "fulfilling"},
                                 headers=admin).json()
    assert {o["id"] for o in every["items"]} == {o["id"] for o in ok}
    problem(shop.orders.http.get("/api/orders/admin", headers=n.issuer.auth("max")), 403, "forbidden")


def test_reorder_reports_repriced_and_unavailable_lines(shop: Shop) -> None:
    n = shop.n
    same, dearer, gone = n.product(1_000, stock=5), n.product(2_000, stock=5), n.product(3_000, stock=5)
    order = shop.checkout("ned", [(same, 1), (dearer, 2), (gone, 1)])
    n.catalog.state.products[dearer]["price_minor"] = 2_400
    del n.catalog.state.products[gone]
    r = shop.orders.http.post(f"/api/orders/{order['id']}/reorder", headers=n.issuer.auth("ned"))
    assert r.status_code == 200, r.text
    result = r.json()
    assert [x["product_id"] for x in result["added"]] == [same]
    assert [(x["product_id"], x["previous_unit_price_minor"], x["unit_price_minor"])
            for x in result["repriced"]] == [(dearer, 2_000, 2_400)]
    assert [x["product_id"] for x in result["unavailable"]] == [gone]
    cart = n.cart.http.get("/api/cart", headers=n.issuer.auth("ned")).json()
    assert {i["product_id"]: i["quantity"] for i in cart["items"]} == {same: 1, dearer: 2}
