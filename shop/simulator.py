"""`shop simulate --shoppers N --days D --seed S`: realistic shoppers driving the running platform
through the gateway only, so a fresh `make up` fills the lake, the warehouse, the dashboards and
the recommenders with meaningful data.

Every shopper registers, saves a card, and on some of the D days visits: lands on the home page
(sometimes from a campaign link), searches (queries built from the catalog's own words, with
typos now and then), opens products, filters by category, adds to the cart, applies a promo code,
and may check out with a card, the e-wallet or crypto; some cancel, some come back another day.
Behaviour events go to the analytics intake stamped with the simulated day (the intake accepts
late events); orders, payments and shipments happen now, because the services keep their own
clocks. For a long history use `--bulk-events`, which writes the lake directly.

Setup done as an administrator (an account the simulator creates): stock for every product that
has none, and two promo-code campaigns. Each shopper appears to come from its own address
(X-Forwarded-For, believed from the local proxy in development) so per-client rate limits apply
per shopper, as they would in production.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
from tqdm import tqdm

PASSWORD = "simulated shopper passphrase 2026"
ADMIN_EMAIL, ADMIN_PASSWORD = "simulator-admin@shop.internal", "simulator admin passphrase 2026"
CARDS = {"ok": "4242424242424242", "declined": "4000000000000002"}
CAMPAIGNS = [("WELCOME10", "welcome", "10"), ("WINTER15", "winter-sale", "15")]
ADDRESS = {"recipient": "Sim Shopper", "line1": "1 Market Street", "city": "Berlin",
           "postcode": "10115", "country": "DE"}


@dataclass
class Shopper:
    index: int
    email: str
    ip: str
    device: str
    token: str | None = None
    card: str | None = None


class WaitOutRateLimits(httpx.AsyncBaseTransport):
    """Retries a request the gateway refused with 429 after its Retry-After (capped), as a
    polite client does: the administrator's restock of every product is a burst the gateway's
    rate limit cuts, and a product left unstocked silently shrinks the simulation."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, attempts: int = 6, max_wait_s: float = 5.0):
        self.inner, self.attempts, self.max_wait_s = inner, attempts, max_wait_s

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        for _ in range(self.attempts - 1):
            response = await self.inner.handle_async_request(request)
            if response.status_code != 429:
                return response
            await response.aclose()
            try:
                wait = float(response.headers.get("Retry-After", "1"))
            except ValueError:
                wait = 1.0
            await asyncio.sleep(min(max(wait, 0.1), self.max_wait_s))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class Stats:
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, what: str, n: int = 1) -> None:
        self.counts[what] += n


class Simulator:
    def __init__(self, gateway: str, *, shoppers: int, days: int, seed: int, concurrency: int = 8):
        self.gateway = gateway.rstrip("/")
        self.rng = random.Random(seed)
        self.seed = seed
        self.days = days
        self.shoppers = [Shopper(i, f"sim-{seed}-{i}@example.com", f"198.18.{i // 250}.{i % 250 + 1}",
                                 f"dev-{seed}-{i}") for i in range(shoppers)]
        self.concurrency = concurrency
        self.stats = Stats()
        self.products: list[dict[str, Any]] = []
        self.words: list[str] = []
        self.admin: dict[str, str] = {}
        self.http = httpx.AsyncClient(base_url=self.gateway, timeout=30,
                                      transport=WaitOutRateLimits(httpx.AsyncHTTPTransport()))

    # --- setup -----------------------------------------------------------------------------
    async def setup(self) -> None:
        self.admin = await self._admin_headers()
        page, items = 1, []
        while True:
            r = await self.http.get("/api/catalog/products", params={"page": page, "size": 100})
            r.raise_for_status()
            body = r.json()
            items += body["items"]
            if page >= body["pages"]:
                break
            page += 1
        if not items:
            raise SystemExit("The catalog is empty: run `shop seed` first.")
        self.products = items
        self.words = sorted({w.lower() for p in items for w in p["title"].split() if len(w) > 3})
        await self._stock_products()
        await self._campaigns()

    async def _admin_headers(self) -> dict[str, str]:
        from services.users.app import build_accounts, database
        from services.users.keys import Keyring
        from services.users.settings import UsersSettings

        settings = UsersSettings()
        accounts = await asyncio.to_thread(build_accounts, settings, database(settings), Keyring())
        await asyncio.to_thread(accounts.create_admin, email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
        r = await self.http.post("/api/users/token", data={"username": ADMIN_EMAIL,
                                                           "password": ADMIN_PASSWORD})
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    async def _stock_products(self) -> None:
        for product in tqdm(self.products, desc="stock", unit="sku", leave=False):
            r = await self.http.get(f"/api/inventory/stock/{product['sku']}")
            if r.status_code == 200 and r.json().get("available", 0) > 0:
                continue
            units = self.rng.choice([5, 20, 50, 200])
            r = await self.http.post(f"/api/inventory/stock/{product['sku']}/adjustments",
                                     headers=self.admin,
                                     json={"delta": units, "reason": "simulator restock"})
            self.stats.add("skus_stocked" if r.status_code == 201 else "stock_errors")

    async def _campaigns(self) -> None:
        existing = await self.http.get("/api/cart/promotions", headers=self.admin)
        codes = {p.get("code") for p in existing.json().get("items", [])} if existing.is_success else set()
        for code, campaign, percent in CAMPAIGNS:
            if code not in codes:
                await self.http.post("/api/cart/promotions", headers=self.admin, json={
                    "name": f"{campaign} {percent}%", "kind": "percent", "percent": percent,
                    "code": code, "campaign_id": campaign, "per_user_limit": 1})

    # --- shoppers ----------------------------------------------------------------------------
    def _headers(self, shopper: Shopper, **extra: str) -> dict[str, str]:
        headers = {"X-Forwarded-For": shopper.ip, **extra}
        if shopper.token:
            headers["Authorization"] = f"Bearer {shopper.token}"
        return headers

    async def _sign_in(self, shopper: Shopper) -> None:
        await self.http.post("/api/users/register", headers=self._headers(shopper),
                             json={"email": shopper.email, "password": PASSWORD,
                                   "full_name": f"Shopper {shopper.index}",
                                   "marketing_opt_in": shopper.index % 3 == 0})
        r = await self.http.post("/api/users/token", headers=self._headers(shopper),
                                 data={"username": shopper.email, "password": PASSWORD})
        r.raise_for_status()
        shopper.token = r.json()["access_token"]
        kind = "declined" if self.rng.random() < 0.05 else "ok"
        r = await self.http.post("/api/payments/cards", headers=self._headers(shopper), json={
            "number": CARDS[kind], "exp_month": 12, "exp_year": 2031, "cvc": "123"})
        if r.status_code == 201:
            shopper.card = r.json()["token"]
        self.stats.add("shoppers")

    async def _track(self, shopper: Shopper, session: str, when: datetime,
                     events: list[dict[str, Any]]) -> None:
        for e in events:
            e.update(session_id=session, anonymous_id=shopper.device, occurred_at=when.isoformat())
        r = await self.http.post("/api/analytics/events", headers=self._headers(shopper),
                                 json={"events": events})
        self.stats.add("behaviour_events" if r.status_code == 202 else "behaviour_rejected",
                       len(events))

    def _query(self) -> str:
        words = self.rng.sample(self.words, k=min(len(self.words), self.rng.choice([1, 1, 2])))
        query = " ".join(words)
        if self.rng.random() < 0.15 and len(query) > 4:  # a typo
            i = self.rng.randrange(1, len(query) - 1)
            query = query[:i] + query[i + 1] + query[i] + query[i + 2:]
        return query

    async def visit(self, shopper: Shopper, day: date) -> None:
        rng = self.rng
        when = min(datetime.combine(day, time(rng.randrange(7, 23), rng.randrange(60)), UTC),
                   datetime.now(UTC) - timedelta(seconds=rng.randrange(1, 600)))  # never ahead
        session = uuid.uuid4().hex
        campaign = rng.choice([None, None, None, "welcome", "winter-sale"])
        events: list[dict[str, Any]] = [{"type": "page_view", "path": "/", "campaign_id": campaign}]
        viewed: list[dict[str, Any]] = []
        for _ in range(rng.randint(1, 3)):
            query = self._query()
            r = await self.http.get("/api/catalog/search", params={"q": query, "size": 20},
                                    headers=self._headers(shopper))
            hits = r.json().get("items", []) if r.is_success else []
            clicked = rng.randrange(min(len(hits), 5)) if hits and rng.random() < 0.7 else None
            events.append({"type": "search", "query": query, "result_count": len(hits),
                           "clicked_position": clicked + 1 if clicked is not None else None,
                           "clicked_product_id": str(hits[clicked]["id"]) if clicked is not None else None})
            if clicked is not None:
                viewed.append(hits[clicked])
        if rng.random() < 0.5:  # browse a category
            product = rng.choice(self.products)
            path = "/".join(product["category_path"])
            r = await self.http.get("/api/catalog/products", params={"category": path, "size": 20},
                                    headers=self._headers(shopper))
            if r.is_success and r.json()["items"]:
                viewed.append(rng.choice(r.json()["items"]))
        for product in viewed:
            await self.http.get(f"/api/catalog/products/{product['id']}", headers=self._headers(shopper))
            events.append({"type": "product_view", "product_id": str(product["id"]), "sku": product["sku"],
                           "category": "/".join(product["category_path"]), "source": "search"})
        in_cart = [p for p in viewed if p.get("in_stock") and rng.random() < 0.45]
        for product in in_cart:
            quantity = rng.choice([1, 1, 1, 2, 3])
            r = await self.http.post("/api/cart/items", headers=self._headers(shopper),
                                     json={"product_id": str(product["id"]), "quantity": quantity})
            if r.is_success:
                events.append({"type": "add_to_cart", "product_id": str(product["id"]),
                               "sku": product["sku"], "quantity": quantity,
                               "unit_price_minor": product["price_minor"], "currency": product["currency"]})
        await self._track(shopper, session, when, events)
        self.stats.add("visits")
        if in_cart and rng.random() < 0.6:
            await self.checkout(shopper)

    async def checkout(self, shopper: Shopper) -> None:
        rng, h = self.rng, self._headers(shopper)
        if rng.random() < 0.3:
            code = rng.choice(CAMPAIGNS)[0]
            r = await self.http.post("/api/cart/codes", headers=h, json={"code": code})
            self.stats.add("promo_applied" if r.is_success else "promo_refused")
        await self.http.post("/api/cart/prices/acknowledge", headers=h)
        r = await self.http.post("/api/cart/checkout", headers={**h, "Idempotency-Key": uuid.uuid4().hex})
        if r.status_code != 201:
            self.stats.add(f"checkout_refused_{r.status_code}")
            return
        snapshot = r.json()
        quotes = await self.http.post("/api/delivery/quotes", headers=h, json={
            "destination": {"country": "DE", "postcode": "10115"}, "items": [{"quantity": 1}]})
        home = [q for q in quotes.json().get("items", []) if not q.get("pickup")] if quotes.is_success else []
        if not home:
            self.stats.add("no_delivery_quote")
            return
        method = rng.choices(["card", "wallet", "crypto"], weights=[80, 12, 8])[0]
        if method != "card" and shopper.card is None:
            method = "card"
        if method == "wallet":
            await self.http.post("/api/payments/wallet/top-ups", headers=h, json={
                "amount_minor": snapshot.get("totals", {}).get("total_minor", 10_000) + 10_000,
                "currency": snapshot.get("currency", "EUR"), "card_token": shopper.card})
        payment: dict[str, Any] = {"method": method}
        if method == "card":
            if shopper.card is None:
                self.stats.add("no_card")
                return
            payment["card_token"] = shopper.card
        r = await self.http.post("/api/orders", headers={**h, "Idempotency-Key": uuid.uuid4().hex}, json={
            "snapshot_id": snapshot["id"], "address": ADDRESS,
            "delivery": {"quote_id": rng.choice(home)["id"]}, "payment": payment})
        if r.status_code != 201:
            self.stats.add(f"order_refused_{r.status_code}")
            return
        self.stats.add(f"orders_{method}")
        if method == "crypto":
            await self._confirm_on_chain(shopper, r.json())
        if rng.random() < 0.08:
            order_id = r.json()["id"]
            await asyncio.sleep(0.5)
            c = await self.http.post(f"/api/orders/{order_id}/cancel", headers=h,
                                     json={"reason": "changed my mind"})
            self.stats.add("cancelled" if c.is_success else "cancel_refused")

    async def _confirm_on_chain(self, shopper: Shopper, order: dict[str, Any]) -> None:
        """Play the chain watcher: the shopper pays the invoice, the watcher reports it."""
        from services.payments.settings import PaymentsSettings
        from services.payments.webhooks import signed_headers

        for _ in range(20):  # the saga creates the invoice asynchronously
            if order.get("payment_id"):
                break
            await asyncio.sleep(0.25)
            order = (await self.http.get(f"/api/orders/{order['id']}", headers=self._headers(shopper))).json()
        payment = (await self.http.get(f"/api/payments/{order.get('payment_id')}",
                                       headers=self._headers(shopper))).json()
        invoice = payment.get("invoice")
        if not invoice:
            self.stats.add("crypto_without_invoice")
            return
        body = httpx.Request("POST", "/", json={
            "event_id": uuid.uuid4().hex, "address": invoice["address"],
            "amount_minor": invoice["amount_minor"],
            "confirmations": invoice["confirmations_required"]}).content
        headers = signed_headers(PaymentsSettings().chain_secret, uuid.uuid4().hex, body,
                                 datetime.now(UTC))
        r = await self.http.post("/api/payments/webhooks/chain", content=body,
                                 headers={**headers, "content-type": "application/json"})
        self.stats.add("crypto_confirmed" if r.is_success else f"crypto_refused_{r.status_code}")

    async def run(self) -> Counter[str]:
        await self.setup()
        limit = asyncio.Semaphore(self.concurrency)

        async def guarded(coro: Any) -> None:
            async with limit:
                try:
                    await coro
                except httpx.HTTPError as exc:
                    self.stats.add(f"http_error_{type(exc).__name__}")

        with tqdm(total=len(self.shoppers), desc="shoppers", unit="shopper") as bar:
            async def sign_in(s: Shopper) -> None:
                await guarded(self._sign_in(s))
                bar.update()

            await asyncio.gather(*(sign_in(s) for s in self.shoppers))
        start = date.today() - timedelta(days=self.days - 1)
        plan = [(s, start + timedelta(days=d)) for d in range(self.days) for s in self.shoppers
                if self.rng.random() < (0.6 if s.index % 4 == 0 else 0.25)]  # a quarter are regulars
        with tqdm(total=len(plan), desc="visits", unit="visit") as bar:
            async def one(s: Shopper, day: date) -> None:
                await guarded(self.visit(s, day))
                bar.update()

            for d in range(self.days):  # day by day, shoppers of a day at once
                await asyncio.gather(*(one(s, day) for s, day in plan if day == start + timedelta(days=d)))
        await self.http.aclose()
        return self.stats.counts


def simulate_shoppers(gateway: str, *, shoppers: int, days: int, seed: int) -> Counter[str]:
    return asyncio.run(Simulator(gateway, shoppers=shoppers, days=days, seed=seed).run())
