"""The simulator's HTTP client waits out the gateway's rate limit instead of losing requests."""

from __future__ import annotations

import asyncio

import httpx

from shop.simulator import WaitOutRateLimits


def served(refusals: int) -> tuple[httpx.AsyncClient, list[bytes]]:
    """A server that refuses the first `refusals` requests with 429 (Retry-After: 0)."""
    bodies: list[bytes] = []

    def handle(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        if len(bodies) <= refusals:
            return httpx.Response(429, headers={"Retry-After": "0"})
        return httpx.Response(201, json={"n": len(bodies)})

    transport = WaitOutRateLimits(httpx.MockTransport(handle), attempts=4)
    return httpx.AsyncClient(base_url="http://gateway", transport=transport), bodies


def post(client: httpx.AsyncClient) -> httpx.Response:
    async def go() -> httpx.Response:
        async with client:
            return await client.post("/api/inventory/stock/SKU-1/adjustments", json={"delta": 5})
    return asyncio.run(go())


def test_a_refused_request_is_sent_again_after_retry_after() -> None:
    client, bodies = served(refusals=2)
    r = post(client)
    assert r.status_code == 201 and r.json() == {"n": 3}
    assert bodies == [b'{"delta":5}'] * 3  # the same body each time


def test_the_last_refusal_is_returned_once_attempts_run_out() -> None:
    client, bodies = served(refusals=10)
    assert post(client).status_code == 429 and len(bodies) == 4
