"""What the cart reads from other services, behind small interfaces: product prices from the
catalog (`PriceSource`) and availability from inventory (`StockSource`).

The HTTP implementations call the services' public APIs (never their databases). Prices are
cached per product for `ttl_s` seconds (default 5): the price shown is re-checked on every read
of the cart, at the cost of one catalog round trip per product every few seconds at most.
A catalog that does not answer is a 503 for the shopper (a cart priced from stale memory would
be worse); an inventory that does not answer leaves quantities uncapped (the reservation at
checkout is the real guard against overselling).
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from threading import Lock
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx
import orjson
import structlog

from services.platform.errors import Unavailable
from services.platform.http_pool import Pool

log = structlog.get_logger("cart.sources")


@dataclass(frozen=True, slots=True)
class Product:
    product_id: str
    sku: str
    title: str
    price_minor: int
    currency: str
    categories: tuple[str, ...]
    """Category slugs and paths from the root: ("home", "kitchen", "home/kitchen")."""


class PriceSource(Protocol):
    def products(self, product_ids: Iterable[str]) -> dict[str, Product]:
        """Current product data by id; unknown (deleted) products are missing from the answer."""


class StockSource(Protocol):
    def available(self, skus: Iterable[str]) -> dict[str, int | None]:
        """Sellable units per SKU (0 for SKUs inventory does not keep); None when unknown."""


def categories_of(path: str) -> tuple[str, ...]:
    """Every slug and every prefix path of a category path like `home/kitchen/knives`."""
    parts = [p for p in path.split("/") if p]
    prefixes = ["/".join(parts[: i + 1]) for i in range(1, len(parts))]
    return tuple(dict.fromkeys([*parts, *prefixes]))


def product_from_catalog(data: dict[str, Any]) -> Product:
    category = data.get("category") or {}
    path = category.get("path", "") if isinstance(category, dict) else str(category)
    return Product(product_id=str(data["id"]), sku=str(data["sku"]), title=str(data.get("title", "")),
                   price_minor=int(data["price_minor"]), currency=str(data["currency"]),
                   categories=categories_of(path))


class HttpPriceSource:
    """`GET {catalog}/api/catalog/products/{id}`, fetched in parallel, cached for `ttl_s`."""

    def __init__(self, base_url: str, *, ttl_s: float = 5.0, timeout_s: float = 3.0, workers: int = 8):
        self.http = httpx.Client(base_url=base_url, timeout=timeout_s,
                                 limits=httpx.Limits(max_connections=workers * 2))
        self.ttl_s = ttl_s
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="catalog")
        self._cache: dict[str, tuple[float, Product | None]] = {}
        self._lock = Lock()

    def products(self, product_ids: Iterable[str]) -> dict[str, Product]:
        now = time.monotonic()
        found: dict[str, Product] = {}
        missing: list[str] = []
        for pid in dict.fromkeys(product_ids):
            hit = self._cache.get(pid)
            if hit is not None and hit[0] > now:
                if hit[1] is not None:
                    found[pid] = hit[1]
            else:
                missing.append(pid)
        fetched = list(self.pool.map(self._fetch, missing)) if len(missing) > 1 else [
            self._fetch(pid) for pid in missing]
        with self._lock:
            for pid, product in zip(missing, fetched, strict=True):
                self._cache[pid] = (now + self.ttl_s, product)
                if product is not None:
                    found[pid] = product
        return found

    def _fetch(self, product_id: str) -> Product | None:
        try:
            r = self.http.get(f"/api/catalog/products/{product_id}")
        except httpx.HTTPError as exc:
            log.warning("catalog_unreachable", error=str(exc))
            raise Unavailable("The catalog does not answer; try again shortly.",
                              slug="catalog-unavailable") from exc
        if r.status_code in (404, 422):
            return None
        if r.status_code != 200:
            raise Unavailable(f"The catalog answered {r.status_code}; try again shortly.",
                              slug="catalog-unavailable")
        return product_from_catalog(r.json())

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()

    def close(self) -> None:
        self.pool.shutdown(wait=False)
        self.http.close()


class HttpStockSource:
    """`GET {inventory}/api/inventory/stock?sku=...` (one call for all SKUs, not cached).

    Asked on every add to a cart, so it keeps its own few kept-alive connections
    (`platform.http_pool.Pool`) instead of an httpx client, whose per-request pool bookkeeping
    cost more CPU than the inventory's answer."""

    def __init__(self, base_url: str, *, timeout_s: float = 2.0, keep: int = 32,
                 max_idle_s: float = 2.0):
        self.pool = Pool(base_url, timeout_s=timeout_s, keep=keep, max_idle_s=max_idle_s)

    def available(self, skus: Iterable[str]) -> dict[str, int | None]:
        wanted = list(dict.fromkeys(skus))
        if not wanted:
            return {}
        path = f"/api/inventory/stock?{urlencode([('sku', s) for s in wanted])}"
        try:
            status, body = self.pool.request("GET", path, headers={})
            if status != 200:
                raise OSError(f"inventory answered {status}")
            known = {item["sku"]: int(item["available"]) for item in orjson.loads(body)["items"]}
        except (OSError, http.client.HTTPException, ValueError, KeyError) as exc:
            log.warning("inventory_unreachable", error=str(exc))
            return dict.fromkeys(wanted)
        return {sku: known.get(sku, 0) for sku in wanted}

    def close(self) -> None:
        self.pool.close()
