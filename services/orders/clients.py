"""The orders service's view of its neighbours: small clients over their HTTP APIs.

Every call classifies its outcome for the saga: `Transient` (network error, timeout, 5xx, 429:
try again later) or `Rejected` (a 4xx with the neighbour's problem slug: a definite answer).
The orders service calls as itself (an admin service account, signed in through the users
service like anyone else), so a saga resumed after a restart needs no shopper's token.
"""

from __future__ import annotations

import http.client
import threading
import time
from typing import Any
from urllib.parse import urlencode

import jwt
import orjson

from services.orders.settings import OrdersSettings
from services.platform.http_pool import Pool


class Transient(Exception):
    """The neighbour did not answer definitely; the same idempotent call may be retried."""


class Rejected(Exception):
    def __init__(self, status: int, body: dict[str, Any]):
        self.status, self.body = status, body
        self.slug = str(body.get("type", "")).rsplit("/", 1)[-1] or f"http-{status}"
        super().__init__(f"{status} {self.slug}: {body.get('detail', '')}")


class ServiceToken:
    """The service account's access token, renewed a minute before it expires."""

    def __init__(self, settings: OrdersSettings, users: Pool):
        self.settings, self.users = settings, users
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def get(self) -> str:
        with self._lock:
            if self._token is None or time.time() > self._expires - 60:
                self._token = self._login()
                claims = jwt.decode(self._token, options={"verify_signature": False})
                self._expires = float(claims["exp"])
            return self._token

    def _login(self) -> str:
        form = urlencode({"username": self.settings.service_email,
                          "password": self.settings.service_password}).encode()
        try:
            status, body = self.users.request(
                "POST", "/api/users/token", body=form,
                headers={"Content-Type": "application/x-www-form-urlencoded"})
        except (OSError, http.client.HTTPException) as exc:
            raise Transient(f"users service unreachable: {exc}") from exc
        if status != 200:
            raise Transient(f"the orders service account cannot sign in ({status}); "
                            "create it with `shop admin create`")
        return str(orjson.loads(body)["access_token"])


class Neighbours:
    """A pool of kept-alive connections per neighbour."""

    SERVICES = ("users", "cart", "inventory", "payments", "delivery")

    def __init__(self, settings: OrdersSettings):
        self.settings = settings
        self.pools = {s: Pool(settings.url(s), timeout_s=settings.call_timeout_s)
                      for s in self.SERVICES}
        self.token = ServiceToken(settings, self.pools["users"])
        self._card_owners: dict[str, tuple[str, float]] = {}
        self._cards_lock = threading.Lock()

    def call(self, service: str, method: str, path: str, *, json: Any = None,
             headers: dict[str, str] | None = None, params: Any = None,
             bearer: str | None = None) -> tuple[int, Any]:
        head = {"Authorization": f"Bearer {bearer or self.token.get()}", **(headers or {})}
        body = None
        if json is not None:
            body = orjson.dumps(json)
            head["Content-Type"] = "application/json"
        elif method == "POST":
            body = b""
        if params:
            path = f"{path}?{urlencode(params)}"
        try:
            status, raw = self.pools[service].request(method, path, body=body, headers=head)
        except (OSError, http.client.HTTPException) as exc:
            raise Transient(f"{service} unreachable: {type(exc).__name__}") from exc
        if status >= 500 or status == 429:
            raise Transient(f"{service} answered {status}")
        try:
            answer = orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError as exc:
            raise Transient(f"{service} answered {status} with a body that is not JSON") from exc
        if status >= 400 and status != 402:
            raise Rejected(status, answer)
        return status, answer

    # --- cart --------------------------------------------------------------------------------
    def snapshot(self, snapshot_id: str) -> dict[str, Any]:
        return self.call("cart", "GET", f"/api/cart/snapshots/{snapshot_id}")[1]

    def accept_snapshot(self, snapshot_id: str, order_id: str) -> None:
        self.call("cart", "POST", f"/api/cart/snapshots/{snapshot_id}/accept",
                  json={"order_id": order_id})

    def release_snapshot(self, snapshot_id: str) -> None:
        self.call("cart", "POST", f"/api/cart/snapshots/{snapshot_id}/release")

    def add_to_cart(self, product_id: str, quantity: int, shopper_token: str) -> dict[str, Any]:
        return self.call("cart", "POST", "/api/cart/items", bearer=shopper_token,
                         json={"product_id": product_id, "quantity": quantity})[1]

    # --- inventory -----------------------------------------------------------------------------
    def reserve(self, order_id: str, lines: list[dict[str, Any]], ttl_s: int) -> None:
        self.call("inventory", "POST", "/api/inventory/reservations",
                  json={"order_id": order_id, "ttl_seconds": ttl_s,
                        "lines": [{"sku": x["sku"], "quantity": x["quantity"]} for x in lines]})

    def commit(self, order_id: str) -> None:
        self.call("inventory", "POST", f"/api/inventory/reservations/{order_id}/commit")

    def release(self, order_id: str, reason: str) -> None:
        self.call("inventory", "POST", f"/api/inventory/reservations/{order_id}/release",
                  json={"reason": reason[:200]})

    def restock(self, order_id: str, sku: str, quantity: int) -> None:
        self.call("inventory", "POST", f"/api/inventory/stock/{sku}/adjustments",
                  headers={"Idempotency-Key": f"order:{order_id}:restock:{sku}"},
                  json={"delta": quantity, "reason": f"order {order_id} cancelled before shipment"})

    # --- payments ------------------------------------------------------------------------------
    def pay(self, order: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        method = order["payment"]
        body = {"order_id": order["id"], "user_id": order["user_id"], "amount_minor": order["total_minor"],
                "currency": order["currency"], "method": method["method"], "capture": True}
        if method.get("card_token"):
            body["card_token"] = method["card_token"]
        return self.call("payments", "POST", "/api/payments", json=body,
                         headers={"Idempotency-Key": f"order:{order['id']}:pay"})

    def card_tokens(self, shopper_token: str) -> set[str]:
        """The shopper's own saved cards (asked with the shopper's token: whose cards they are
        is the payments service's call)."""
        body = self.call("payments", "GET", "/api/payments/cards", bearer=shopper_token)[1]
        return {c["token"] for c in body["items"]}

    CARD_OWNER_TTL_S = 600.0
    CARD_OWNER_MAX = 10_000

    def card_owned(self, user_id: str, card_token: str, shopper_token: str) -> bool:
        """Is the card one of the shopper's saved cards? A card token belongs to one user for
        good (tokens are random and never handed to anyone else; payments has no way to move
        or delete a card), so a confirmed owner is remembered for a while and the question
        costs a call to payments only the first time. Only "yes" is remembered; payments checks
        the owner again when it charges the card (the saga's pay step) in any case."""
        hit = self._card_owners.get(card_token)
        if hit is not None and hit[0] == user_id and hit[1] > time.monotonic():
            return True
        owned = self.card_tokens(shopper_token)
        until = time.monotonic() + self.CARD_OWNER_TTL_S
        with self._cards_lock:
            if len(self._card_owners) + len(owned) > self.CARD_OWNER_MAX:
                self._card_owners.clear()
            self._card_owners.update((token, (user_id, until)) for token in owned)
        return card_token in owned

    def payment(self, payment_id: str) -> dict[str, Any]:
        return self.call("payments", "GET", f"/api/payments/{payment_id}")[1]

    def payments_of(self, order_id: str) -> list[dict[str, Any]]:
        return self.call("payments", "GET", "/api/payments", params={"order_id": order_id})[1]["items"]

    def void(self, payment_id: str) -> None:
        self.call("payments", "POST", f"/api/payments/{payment_id}/void",
                  headers={"Idempotency-Key": f"void:{payment_id}"})

    def refund(self, payment_id: str, amount: int | None, reason: str, key: str) -> dict[str, Any]:
        body: dict[str, Any] = {"reason": reason[:200]}
        if amount is not None:
            body["amount_minor"] = amount
        return self.call("payments", "POST", f"/api/payments/{payment_id}/refunds", json=body,
                         headers={"Idempotency-Key": key})[1]

    # --- delivery ------------------------------------------------------------------------------
    def quote(self, quote_id: str) -> dict[str, Any]:
        return self.call("delivery", "GET", f"/api/delivery/quotes/{quote_id}")[1]

    def ship(self, order: dict[str, Any]) -> dict[str, Any]:
        address = {k: order["address"].get(k) for k in
                   ("recipient", "line1", "line2", "city", "postcode", "country", "phone")}
        return self.call("delivery", "POST", "/api/delivery/shipments", json={
            "order_id": order["id"], "user_id": order["user_id"],
            "quote_id": order["delivery"]["quote_id"], "address": address,
            "pickup_point_id": order["delivery"].get("pickup_point_id")})[1]

    def cancel_shipment(self, shipment_id: str) -> None:
        self.call("delivery", "POST", f"/api/delivery/shipments/{shipment_id}/cancel")
