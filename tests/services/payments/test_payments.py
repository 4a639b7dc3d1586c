"""Cards, test-card outcomes, idempotency, capture/void/refund, wallet, crypto and the ledger,
over HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

import concurrent.futures
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select, text

from services.payments.store import LedgerEntry, Payment
from services.payments.webhooks import signed_headers
from tests.services.orders.support import Running, problem
from tests.services.payments.conftest import CHAIN_SECRET

SHOPPER = "shopper-1"
ADMIN = "admin-1"


def add_card(payments: Running, number: str = "4242424242424242", user: str = SHOPPER,
             **extra: Any) -> dict[str, Any]:
    body = {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123", **extra}
    r = payments.http.post("/api/payments/cards", json=body, headers=payments.auth(user))
    assert r.status_code == 201, r.text
    return r.json()


def pay(payments: Running, *, key: str | None = None, user: str = SHOPPER,
        **body: Any) -> Any:
    body = {"amount_minor": 2500, "currency": "EUR", "method": "card", **body}
    headers = {**payments.auth(user), "Idempotency-Key": key or uuid.uuid4().hex}
    return payments.http.post("/api/payments", json=body, headers=headers)


def admin_post(payments: Running, path: str, body: Any = None, key: str | None = None) -> Any:
    headers = {**payments.auth(ADMIN, admin=True), "Idempotency-Key": key or uuid.uuid4().hex}
    return payments.http.post(path, json=body, headers=headers)


def ledger(payments: Running) -> dict[str, Any]:
    r = payments.http.get("/api/payments/ledger/balance", headers=payments.auth(ADMIN, admin=True))
    assert r.status_code == 200, r.text
    return r.json()


def test_card_is_tokenized_and_never_stored_or_logged(
        payments: Running, capsys: pytest.CaptureFixture[str]) -> None:
    card = add_card(payments, "4242 4242 4242 4242", cvc="987")
    assert card["brand"] == "visa" and card["last4"] == "4242" and card["token"].startswith("card_")
    assert set(card) == {"token", "brand", "last4", "exp_month", "exp_year"}
    with payments.app.state.db.read() as session:
        dump = "\n".join(str(row) for table in ("cards", "payments", "outbox", "idempotency_keys")
                         for row in session.execute(text(f"SELECT * FROM {table}")))
    assert "4242424242424242" not in dump
    # The CVC as a value of its own; inside random hex ids or microseconds "987" is chance.
    assert not re.search(r"(?<![0-9a-f])987(?![0-9a-f])", dump), dump
    logs = capsys.readouterr()
    assert "4242424242424242" not in logs.out + logs.err and "4242 4242" not in logs.out + logs.err
    listed = payments.http.get("/api/payments/cards", headers=payments.auth()).json()
    assert listed["total"] == 1 and listed["items"][0]["token"] == card["token"]


@pytest.mark.parametrize(("body", "slug"), [
    ({"number": "4242424242424241"}, "invalid-card-number"),
    ({"exp_month": 1, "exp_year": 2020}, "card-expired"),
    ({"cvc": "12"}, "validation-error"),
    ({"number": "378282246310005", "cvc": "123"}, "invalid-cvc"),
    ({"pan": "x"}, "validation-error"),
])
def test_invalid_cards_are_refused(payments: Running, body: dict, slug: str) -> None:
    full = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123", **body}
    r = payments.http.post("/api/payments/cards", json=full, headers=payments.auth())
    detail = problem(r, 422, slug)
    assert "4242424242424241" not in r.text and "number': '4" not in str(detail)


def test_successful_card_payment_captures_and_balances_the_ledger(payments: Running) -> None:
    card = add_card(payments)
    r = pay(payments, card_token=card["token"], order_id="order-1")
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["status"] == "captured" and p["captured_minor"] == 2500 and p["card_last4"] == "4242"
    # held and taken in one transaction: the capture is the only news
    assert [e["type"] for e in payments.events()] == ["payment.captured"]
    book = ledger(payments)
    assert book["balanced"] and book["accounts"]["EUR"] == {"clearing:card": 2500,
                                                            "merchant:sales": -2500}


@pytest.mark.parametrize(("number", "code"), [
    ("4000000000000002", "card_declined"), ("4000000000009995", "insufficient_funds"),
    ("4000000000000069", "expired_card"), ("4000000000000119", "processing_error"),
])
def test_test_cards_decline_with_their_documented_reason(payments: Running, number: str,
                                                         code: str) -> None:
    card = add_card(payments, number)
    body = problem(pay(payments, card_token=card["token"], order_id="order-2"), 402, "payment-failed")
    assert body["code"] == code and body["payment"]["status"] == "failed"
    failed = payments.events("payment.failed")
    assert [e["data"]["reason"] for e in failed] == [code]
    assert ledger(payments)["accounts"] == {}


def test_extra_confirmation_step(payments: Running) -> None:
    card = add_card(payments, "4000000000003220")
    p = pay(payments, card_token=card["token"]).json()
    assert p["status"] == "requires_action" and p["next_action"] == "confirm_card"
    other = payments.http.post(f"/api/payments/{p['id']}/confirm", json={"code": "424242"},
                               headers=payments.auth("intruder"))
    problem(other, 404, "unknown-payment")
    r = payments.http.post(f"/api/payments/{p['id']}/confirm", json={"code": "424242"},
                           headers=payments.auth())
    assert r.status_code == 200 and r.json()["status"] == "captured"
    q = pay(payments, card_token=card["token"]).json()
    bad = payments.http.post(f"/api/payments/{q['id']}/confirm", json={"code": "000000"},
                             headers=payments.auth())
    assert problem(bad, 402, "payment-failed")["code"] == "authentication_failed"


def test_idempotency_key_semantics(payments: Running) -> None:
    card = add_card(payments)
    first = pay(payments, key="k-1", card_token=card["token"], order_id="order-3")
    again = pay(payments, key="k-1", card_token=card["token"], order_id="order-3")
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    problem(pay(payments, key="k-1", card_token=card["token"], order_id="order-3", amount_minor=1),
            409, "idempotency-key-reused")
    # Keys are per caller: another shopper's identical key is unrelated.
    other_card = add_card(payments, user="shopper-2")
    assert pay(payments, key="k-1", user="shopper-2", card_token=other_card["token"]).status_code == 201
    # A declined payment is an executed request: replayed, not retried.
    declined = add_card(payments, "4000000000000002")
    d1 = pay(payments, key="k-2", card_token=declined["token"])
    d2 = pay(payments, key="k-2", card_token=declined["token"])
    assert d1.status_code == d2.status_code == 402 and d1.json() == d2.json()
    # A refused request (validation) stores nothing: the key stays usable.
    problem(pay(payments, key="k-3", card_token="card_" + "0" * 32), 422, "unknown-card")
    assert pay(payments, key="k-3", card_token=card["token"]).status_code == 201
    problem(payments.http.post("/api/payments", json={"amount_minor": 1, "currency": "EUR",
                                                      "method": "wallet"},
                               headers=payments.auth()), 422, "validation-error")


def test_concurrent_requests_with_one_key_have_one_effect(payments: Running) -> None:
    card = add_card(payments)

    def attempt(_: int) -> tuple[int, str]:
        r = pay(payments, key="same-key", card_token=card["token"], order_id="order-4")
        return r.status_code, r.json()["id"]

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        results = list(pool.map(attempt, range(10)))
    assert {code for code, _ in results} == {201} and len({pid for _, pid in results}) == 1
    with payments.app.state.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Payment)) == 1
    assert ledger(payments)["accounts"]["EUR"]["merchant:sales"] == -2500


def test_authorise_capture_refund_and_void(payments: Running) -> None:
    card = add_card(payments)
    p = pay(payments, card_token=card["token"], capture=False, amount_minor=10_000).json()
    assert p["status"] == "authorized" and ledger(payments)["accounts"] == {}
    assert [e["type"] for e in payments.events()] == ["payment.authorized"]
    problem(admin_post(payments, f"/api/payments/{p['id']}/capture", {"amount_minor": 10_001}),
            422, "capture-too-large")
    cap = admin_post(payments, f"/api/payments/{p['id']}/capture", {"amount_minor": 8_000})
    assert cap.status_code == 200 and cap.json()["captured_minor"] == 8_000
    r1 = admin_post(payments, f"/api/payments/{p['id']}/refunds", {"amount_minor": 3_000,
                                                                  "reason": "damaged"})
    assert r1.status_code == 201 and r1.json()["status"] == "partially_refunded"
    over = admin_post(payments, f"/api/payments/{p['id']}/refunds", {"amount_minor": 5_001})
    assert problem(over, 422, "refund-too-large")["refundable_minor"] == 5_000
    rest = admin_post(payments, f"/api/payments/{p['id']}/refunds", {})
    assert rest.json()["status"] == "refunded" and rest.json()["refunded_minor"] == 8_000
    assert [x["amount_minor"] for x in rest.json()["refunds"]] == [3_000, 5_000]
    problem(admin_post(payments, f"/api/payments/{p['id']}/refunds", {"amount_minor": 1}),
            409, "payment-refunded")
    book = ledger(payments)
    assert book["balanced"] and book["accounts"]["EUR"]["merchant:sales"] == 0

    q = pay(payments, card_token=card["token"], capture=False).json()
    v1 = admin_post(payments, f"/api/payments/{q['id']}/void")
    v2 = admin_post(payments, f"/api/payments/{q['id']}/void")
    assert v1.json()["status"] == "voided" and v2.status_code == 200
    problem(admin_post(payments, f"/api/payments/{q['id']}/capture"), 409, "payment-voided")
    assert len(payments.events("payment.voided")) == 1


def test_only_admins_move_money_and_shoppers_see_only_their_payments(payments: Running) -> None:
    card = add_card(payments)
    p = pay(payments, card_token=card["token"], order_id="order-5").json()
    headers = {**payments.auth(), "Idempotency-Key": "x"}
    problem(payments.http.post(f"/api/payments/{p['id']}/refunds", json={}, headers=headers),
            403, "forbidden")
    problem(payments.http.get(f"/api/payments/{p['id']}", headers=payments.auth("shopper-2")),
            404, "unknown-payment")
    assert payments.http.get("/api/payments", params={"order_id": "order-5"},
                             headers=payments.auth("shopper-2")).json()["total"] == 0
    assert payments.http.get("/api/payments", params={"order_id": "order-5"},
                             headers=payments.auth()).json()["total"] == 1
    problem(pay(payments, card_token=card["token"], user_id="shopper-2"), 403, "forbidden")
    problem(payments.http.get("/api/payments/ledger/balance", headers=payments.auth()),
            403, "forbidden")


def test_wallet_top_up_pay_refund_and_overdraw(payments: Running) -> None:
    card = add_card(payments)
    headers = {**payments.auth(), "Idempotency-Key": "top-1"}
    top = payments.http.post("/api/payments/wallet/top-ups", headers=headers,
                             json={"amount_minor": 5_000, "currency": "EUR", "card_token": card["token"]})
    assert top.status_code == 201 and top.json()["balance_minor"] == 5_000
    again = payments.http.post("/api/payments/wallet/top-ups", headers=headers,
                               json={"amount_minor": 5_000, "currency": "EUR",
                                     "card_token": card["token"]})
    assert again.json()["balance_minor"] == 5_000  # replayed, not topped up twice
    p = pay(payments, method="wallet", amount_minor=3_000).json()
    assert p["status"] == "captured"
    body = problem(pay(payments, method="wallet", amount_minor=2_001), 402, "payment-failed")
    assert body["code"] == "insufficient_funds"
    held = pay(payments, method="wallet", amount_minor=1_500, capture=False).json()
    wallet = payments.http.get("/api/payments/wallet", headers=payments.auth()).json()
    assert wallet == {"currency": "EUR", "balance_minor": 500, "held_minor": 1_500}
    admin_post(payments, f"/api/payments/{held['id']}/capture", {"amount_minor": 1_000})
    admin_post(payments, f"/api/payments/{p['id']}/refunds", {"amount_minor": 1_000})
    wallet = payments.http.get("/api/payments/wallet", headers=payments.auth()).json()
    assert wallet == {"currency": "EUR", "balance_minor": 2_000, "held_minor": 0}
    book = ledger(payments)["accounts"]["EUR"]
    assert sum(book.values()) == 0
    assert -book[f"wallet:{SHOPPER}"] == wallet["balance_minor"]
    assert book["wallet:holds"] == 0 and -book["merchant:sales"] == 3_000


def test_concurrent_wallet_payments_never_overdraw(payments: Running) -> None:
    card = add_card(payments)
    payments.http.post("/api/payments/wallet/top-ups",
                       headers={**payments.auth(), "Idempotency-Key": "t"},
                       json={"amount_minor": 1_000, "currency": "EUR", "card_token": card["token"]})
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: pay(payments, method="wallet", amount_minor=300).status_code,
                              range(8)))
    assert sorted(codes) == [201] * 3 + [402] * 5
    assert payments.http.get("/api/payments/wallet", headers=payments.auth()).json()[
        "balance_minor"] == 100


def chain(payments: Running, body: dict[str, Any], secret: str = CHAIN_SECRET) -> Any:
    raw = orjson.dumps(body)
    headers = signed_headers(secret, uuid.uuid4().hex, raw, datetime.now(UTC))
    return payments.http.post("/api/payments/webhooks/chain", content=raw, headers=headers)


def test_crypto_invoice_is_confirmed_by_the_chain(payments: Running) -> None:
    p = pay(payments, method="crypto", amount_minor=4_200, order_id="order-6").json()
    assert p["status"] == "pending" and p["next_action"] == "pay_invoice"
    address = p["invoice"]["address"]
    report = {"event_id": "e1", "address": address, "amount_minor": 4_200, "confirmations": 1}
    problem(chain(payments, report, secret="wrong"), 401, "invalid-signature")
    raw = orjson.dumps(report)
    headers = signed_headers(CHAIN_SECRET, "m", raw, datetime.now(UTC))
    tampered = payments.http.post("/api/payments/webhooks/chain", headers=headers,
                                  content=raw.replace(b"4200", b"9999"))
    problem(tampered, 401, "invalid-signature")
    assert chain(payments, report).json()["status"] == "pending"
    under = chain(payments, {**report, "event_id": "e2", "amount_minor": 100, "confirmations": 3})
    assert under.json()["status"] == "pending"
    done = chain(payments, {**report, "event_id": "e3", "confirmations": 2})
    assert done.json()["status"] == "captured" and done.json()["captured_minor"] == 4_200
    assert chain(payments, {**report, "event_id": "e3", "confirmations": 2}).status_code == 200
    assert len(payments.events("payment.captured")) == 1
    problem(chain(payments, {**report, "event_id": "e4", "address": "nope"}), 404, "unknown-invoice")
    with payments.app.state.db.read() as session:
        assert session.scalar(select(func.sum(LedgerEntry.amount_minor))) == 0
