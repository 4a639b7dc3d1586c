"""What `shop up` runs: one declarative list of programs (services, relays, consumers).

Ports are `SHOP_PORT_BASE` (default 8000) plus each service's offset, so a second stack (the
whole-stack test) can run beside a developer's. Stores default to embedded ones; a URL in the
environment swaps each for a real server.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from services.platform.redis import EMBEDDED_PORT, embedded_redis_command

PY = sys.executable

HTTP_SERVICES: dict[str, int] = {
    "gateway": 0, "users": 1, "catalog": 2, "cart": 3, "orders": 4, "payments": 5,
    "inventory": 6, "delivery": 7, "notifications": 8, "analytics": 9, "recommendations": 10,
}
"""Service name -> port offset (DESIGN.md's port table)."""

RELAYED_SERVICES = ["users", "catalog", "inventory", "orders", "payments", "delivery"]
"""Services with a transactional outbox, each relayed to its stream by its own process. (The cart
writes its stream in the same MULTI/EXEC as the cart; analytics appends validated batches;
recommendations publishes offers in one Redis transaction.)"""

WORKERS: dict[str, list[str]] = {
    "lake-writer": ["shop.cli", "lake-writer"],  # every stream -> Parquet lake
    "catalog-indexer": ["services.catalog.indexer"],  # catalog + inventory events -> search index
    "catalog-purchases": ["services.catalog.purchases"],  # paid orders -> verified-purchase reviews
    "inventory-sweeper": ["services.inventory.sweeper"],  # expires unpaid reservations
    "cart-sweeper": ["services.cart.sweeper"],  # cart.abandoned, expired checkout snapshots
    "cart-offers": ["services.cart.offers"],  # personal offers -> one-shopper promotions
    "orders-events": ["services.orders.cli", "events"],  # shipped/delivered, payment news
    "payments-webhooks": ["services.payments.cli", "webhooks"],  # signed webhooks to orders
    "carrier-simulator": ["services.delivery.cli", "simulate"],  # advances demo shipments
}
"""Background processes (consumers, sweepers, simulators): name -> `python -m` arguments.
The orders saga worker runs inside the orders service; the notifications worker and the SMTP
sink are added in `programs()` because they share settings."""


@dataclass(frozen=True)
class Program:
    name: str
    command: list[str]
    port: int | None = None
    health_path: str = "/health"
    priority: int = 100
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Stack:
    data_dir: Path
    port_base: int = 8000
    redis_url: str | None = None
    redis_port: int = EMBEDDED_PORT
    dagster_port: int = 3000
    dagster: bool = True

    @classmethod
    def from_env(cls) -> Stack:
        return cls(
            data_dir=Path(os.environ.get("SHOP_DATA_DIR", "data")).resolve(),
            port_base=int(os.environ.get("SHOP_PORT_BASE", "8000")),
            redis_url=os.environ.get("REDIS_URL") or None,
            redis_port=int(os.environ.get("SHOP_EMBEDDED_REDIS_PORT", EMBEDDED_PORT)),
            dagster_port=int(os.environ.get("SHOP_DAGSTER_PORT", "3000")),
            dagster=os.environ.get("SHOP_DAGSTER", "1") != "0",
        )

    def port(self, service: str) -> int:
        return self.port_base + HTTP_SERVICES[service]

    @property
    def effective_redis_url(self) -> str:
        return self.redis_url or f"redis://127.0.0.1:{self.redis_port}/0"

    def shared_env(self) -> dict[str, str]:
        upstreams = {s: f"http://127.0.0.1:{self.port(s)}" for s in HTTP_SERVICES if s != "gateway"}
        env = {
            "SHOP_DATA_DIR": str(self.data_dir),
            "REDIS_URL": self.effective_redis_url,
            "GATEWAY_UPSTREAMS": json.dumps(upstreams),
            "PYTHONUNBUFFERED": "1",
            "DAGSTER_HOME": str(self.data_dir / "dagster"),
            "JWKS_URL": f"http://127.0.0.1:{self.port('users')}/.well-known/jwks.json",
        }
        env.update({f"{s.upper()}_PORT": str(self.port(s)) for s in HTTP_SERVICES})
        return env


HTTP_WORKERS: dict[str, int] = {"catalog": 2}
"""Services answering from more than one process. The catalog's search and browse are CPU work
per query (~2.3 ms for 4 facets and 20 hits on 100k products): one process tops out near one
core, and its queue is what sets the tail latency, so it gets a process per core (on 2 cores,
100k products: 470 -> 840 q/s straight to the catalog; p99 at 300 q/s through the gateway
23 -> 17 ms)."""


def uvicorn(service: str, port: int) -> list[str]:
    workers = HTTP_WORKERS.get(service, 1)
    return [PY, "-m", "uvicorn", f"services.{service}.app:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning",
            "--loop", "uvloop", "--http", "httptools", "--timeout-graceful-shutdown", "5",
            *(["--workers", str(workers)] if workers > 1 else []),
            "--no-proxy-headers"]  # X-Forwarded-For is judged by client_ip() against TRUSTED_PROXIES


def metrics_dir(stack: Stack, service: str) -> Path:
    """Where the processes of a multi-process service pool their Prometheus metrics (`shop up`
    empties it at each start, as prometheus_client's multiprocess mode asks)."""
    return stack.data_dir / "run" / "prometheus" / service


def programs(stack: Stack) -> list[Program]:
    progs: list[Program] = []
    if stack.redis_url is None:
        progs.append(Program("redis", embedded_redis_command(stack.data_dir, stack.redis_port),
                             priority=1))
    for service in HTTP_SERVICES:
        env = {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir(stack, service))} \
            if HTTP_WORKERS.get(service, 1) > 1 else {}
        progs.append(Program(service, uvicorn(service, stack.port(service)), env=env,
                             port=stack.port(service), priority=10 if service != "gateway" else 20))
    for service in RELAYED_SERVICES:
        progs.append(Program(f"{service}-relay", [PY, "-m", "shop.cli", "relay", service],
                             priority=30))
    for name, args in WORKERS.items():
        progs.append(Program(name, [PY, "-m", *args], priority=40))
    # Notifications: the worker (bus -> email, SMS, push) and, unless SMTP_URL names a real
    # server, the local SMTP sink whose Maildir the dev mailbox shows.
    notify_env = {"NOTIFICATIONS_SINK_PORT": str(stack.port_base + 25),
                  "NOTIFICATIONS_PUBLIC_BASE_URL": f"http://localhost:{stack.port('gateway')}"}
    progs.append(Program("notifications-worker", [PY, "-m", "services.notifications.worker"],
                         priority=40, env=notify_env))
    if not os.environ.get("SMTP_URL"):
        progs.append(Program("smtp-sink", [PY, "-m", "services.notifications.sink"], priority=5,
                             env=notify_env))
    if stack.dagster:
        home = stack.data_dir / "dagster"
        home.mkdir(parents=True, exist_ok=True)
        if not (home / "dagster.yaml").exists():
            (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        progs.append(Program("dagster-webserver", [PY, "-m", "dagster_webserver", "-m", "pipelines",
                                                   "-h", "127.0.0.1", "-p", str(stack.dagster_port)],
                             port=stack.dagster_port, health_path="/server_info", priority=50))
        daemon = str(Path(PY).with_name("dagster-daemon"))
        progs.append(Program("dagster-daemon", [daemon, "run", "-m", "pipelines"], priority=50))
    return progs
