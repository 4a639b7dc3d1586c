"""The gateway with real upstreams: routing, auth, limits, cache, failures, docs, logs."""

from __future__ import annotations

import time
from collections.abc import Callable

import jwt
import pytest
import redis as redis_lib
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.gateway.settings import RateLimit
from services.platform.events import Event, stream_for
from tests.services.gateway.conftest import STRONG, Stack


def problem(r, status: int, slug: str) -> dict:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/" + slug), r.json()
    return r.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_routes_to_users_and_carries_the_identity(stack: Stack) -> None:
    pair = stack.register_and_login("ann@example.com")
    me = stack.gateway.get("/api/users/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 200 and me.json()["email"] == "ann@example.com"
    r = stack.gateway.post("/api/users/token/refresh", json={"refresh_token": pair["refresh_token"]})
    assert r.status_code == 200
    assert stack.gateway.get("/.well-known/jwks.json").json()["keys"]


def test_request_id_reaches_the_upstream_and_comes_back(stack: Stack) -> None:
    r = stack.gateway.get("/api/catalog/echo", headers={"X-Request-ID": "trace-42"})
    assert r.headers["x-request-id"] == "trace-42"
    assert r.json()["headers"]["x-request-id"] == "trace-42"
    generated = stack.gateway.get("/api/catalog/echo")
    assert generated.json()["headers"]["x-request-id"] == generated.headers["x-request-id"]


def test_forged_identity_headers_never_reach_upstreams(stack: Stack) -> None:
    forged = {"X-User-Id": "admin", "X-User-Roles": "admin"}
    seen = stack.gateway.get("/api/catalog/echo", headers=forged).json()["headers"]
    assert "x-user-id" not in seen and "x-user-roles" not in seen
    pair = stack.register_and_login("bob@example.com")
    user_id = stack.gateway.get("/api/users/me", headers=bearer(pair["access_token"])).json()["id"]
    r = stack.gateway.get("/api/catalog/echo", headers={**forged, **bearer(pair["access_token"])})
    assert r.json()["headers"]["x-user-id"] == user_id
    assert r.json()["headers"]["x-user-roles"] == "customer"


def test_unknown_routes_and_missing_auth_stop_at_the_gateway(stack: Stack) -> None:
    problem(stack.gateway.get("/api/nothing/here"), 404, "not-found")
    problem(stack.gateway.delete("/api/users/register"), 404, "not-found")
    r = problem(stack.gateway.get("/api/users/me"), 401, "unauthorized")
    assert r["detail"] == "Authentication required."
    pair = stack.register_and_login("cat@example.com")
    problem(stack.gateway.get("/api/users", headers=bearer(pair["access_token"])), 403, "forbidden")
    problem(stack.gateway.post("/api/catalog/echo", headers=bearer(pair["access_token"]), json={}),
            403, "forbidden")


@pytest.mark.parametrize("kind", ["tampered", "alg-none", "wrong-key", "expired", "garbage"])
def test_bad_tokens_are_refused_by_the_gateway(stack: Stack, kind: str) -> None:
    pair = stack.register_and_login(f"tok-{kind}@example.com")
    good = pair["access_token"]
    claims = jwt.decode(good, options={"verify_signature": False})
    kid = jwt.get_unverified_header(good)["kid"]
    token = {
        "tampered": lambda: good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"),
        "alg-none": lambda: jwt.encode({**claims, "roles": ["admin"]}, None, algorithm="none"),  # type: ignore[arg-type]
        "wrong-key": lambda: jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA",
                                        headers={"kid": kid}),
        "expired": lambda: jwt.encode({**claims, "exp": int(time.time()) - 5},
                                      Ed25519PrivateKey.generate(), algorithm="EdDSA",
                                      headers={"kid": kid}),
        "garbage": lambda: "a.b.c",
    }[kind]()
    problem(stack.gateway.get("/api/users/me", headers=bearer(token)), 401,
            "invalid-token" if kind != "expired" else "invalid-token")


def test_rotated_signing_key_is_learned_from_the_jwks(stack: Stack) -> None:
    from services.users.keys import create_signing_key

    stack.register_and_login("rot@example.com")
    with stack.users_app.state.db.session() as session:
        new_kid = create_signing_key(session)
    with stack.users_app.state.db.session() as session:
        stack.users_app.state.keyring.load(session)
    time.sleep(5.1)  # the gateway refreshes a JWKS at most every 5 s
    r = stack.gateway.post("/api/users/token", data={"username": "rot@example.com", "password": STRONG})
    token = r.json()["access_token"]
    assert jwt.get_unverified_header(token)["kid"] == new_kid
    assert stack.gateway.get("/api/users/me", headers=bearer(token)).status_code == 200


def test_rate_limit_per_client_with_retry_after(make_stack: Callable[..., Stack],
                                                redis_client: redis_lib.Redis) -> None:
    stack = make_stack(client_rate=RateLimit(capacity=3, per_second=0.5))
    codes = [stack.gateway.get("/api/catalog/echo").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = problem(stack.gateway.get("/api/catalog/echo"), 429, "rate-limited")
    assert r["status"] == 429
    assert int(stack.gateway.get("/api/catalog/echo").headers["retry-after"]) >= 1
    # Once refused, the client is refused locally: its reads stop reaching the upstream.
    hits = stack.catalog.state.echo_hits
    assert [stack.gateway.get("/api/catalog/echo").status_code for _ in range(3)] == [429] * 3
    assert stack.catalog.state.echo_hits == hits
    # A different (trusted-proxy-forwarded) client has its own bucket.
    other = stack.gateway.get("/api/catalog/echo", headers={"X-Forwarded-For": "198.51.100.1"})
    assert other.status_code == 200


def test_limits_are_configurable_per_route(make_stack: Callable[..., Stack],
                                           redis_client: redis_lib.Redis) -> None:
    stack = make_stack(route_limits={"catalog.read": RateLimit(capacity=2, per_second=0.5)})
    codes = [stack.gateway.get("/api/catalog/echo").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    # Other routes keep the default client budget.
    assert stack.gateway.get("/.well-known/jwks.json").status_code == 200


def test_forged_forwarded_for_does_not_dodge_the_limit(make_stack: Callable[..., Stack],
                                                       redis_client: redis_lib.Redis) -> None:
    stack = make_stack(client_rate=RateLimit(capacity=3, per_second=0.5), trusted_proxies=[])
    codes = [stack.gateway.get("/api/catalog/echo",
                               headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
             for i in range(5)]
    assert codes == [200, 200, 200, 429, 429]


def test_rate_limit_per_user_across_addresses(make_stack: Callable[..., Stack],
                                              redis_client: redis_lib.Redis) -> None:
    stack = make_stack(user_rate=RateLimit(capacity=3, per_second=0.5))
    pair = stack.register_and_login("lim@example.com")
    codes = [stack.gateway.get("/api/users/me", headers={**bearer(pair["access_token"]),
                                                          "X-Forwarded-For": f"198.51.100.{i}"}
                               ).status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]


def test_public_catalog_reads_are_cached_and_invalidated_by_events(
    stack: Stack, redis_client: redis_lib.Redis
) -> None:
    first = stack.gateway.get("/api/catalog/products")
    second = stack.gateway.get("/api/catalog/products")
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("MISS", "HIT")
    assert first.json() == second.json()
    assert second.headers["cache-control"] == "public, max-age=30"
    etag = second.headers["etag"]
    not_modified = stack.gateway.get("/api/catalog/products", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert stack.gateway.get("/api/catalog/products?page=2").headers["x-cache"] == "MISS"
    assert "x-cache" not in stack.gateway.get("/api/catalog/echo").headers  # upstream said no-store

    hits = stack.catalog.state.hits
    event = Event(type="catalog.product_updated", source="catalog", data={"sku": "A-1"})
    redis_client.xadd(stream_for("catalog"), {"event": event.to_json()})
    deadline = time.monotonic() + 5
    while stack.gateway.get("/api/catalog/products").headers["x-cache"] == "HIT":
        assert time.monotonic() < deadline, "cache was not invalidated by the catalog event"
        time.sleep(0.1)
    assert stack.catalog.state.hits == hits + 1


def test_authenticated_reads_bypass_the_cache(stack: Stack) -> None:
    pair = stack.register_and_login("nocache@example.com")
    stack.gateway.get("/api/catalog/products")
    r = stack.gateway.get("/api/catalog/products", headers=bearer(pair["access_token"]))
    assert "x-cache" not in r.headers


def test_upstream_failures_become_502_and_504(make_stack: Callable[..., Stack],
                                              redis_client: redis_lib.Redis) -> None:
    stack = make_stack(upstream_timeout_s=0.5)
    body = problem(stack.gateway.get("/api/catalog/slow"), 504, "upstream-timeout")
    assert "catalog" in body["detail"]
    stack = make_stack(upstreams={"users": stack.users_url, "catalog": "http://127.0.0.1:9"})
    problem(stack.gateway.get("/api/catalog/products"), 502, "bad-gateway")


def test_oversized_bodies_are_refused_before_the_upstream(stack: Stack) -> None:
    r = stack.gateway.post("/api/users/register", content=b"x" * 2_000_000,
                           headers={"content-type": "application/json"})
    problem(r, 413, "payload-too-large")


def test_merged_openapi_and_docs(stack: Stack) -> None:
    doc = stack.gateway.get("/openapi.json").json()
    assert "/api/users/register" in doc["paths"] and "/api/catalog/products" in doc["paths"]
    assert "UserPublic" in doc["components"]["schemas"]
    assert "swagger-ui" in stack.gateway.get("/docs").text


def test_cors_preflight(stack: Stack) -> None:
    r = stack.gateway.options("/api/users/me", headers={
        "Origin": "http://localhost:5173", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "http://localhost:5173"


def test_access_log_has_the_facts_and_no_secrets(stack: Stack, capfd: pytest.CaptureFixture[str]) -> None:
    pair = stack.register_and_login("log@example.com", "a very secret passphrase indeed")
    stack.gateway.get("/api/users/me", headers=bearer(pair["access_token"]))
    time.sleep(0.2)
    out = capfd.readouterr().out
    assert "a very secret passphrase indeed" not in out
    assert pair["access_token"] not in out and pair["refresh_token"] not in out
    # (In-process apps share one log configuration, so the service label is not asserted here.)
    lines = [line for line in out.splitlines() if '"path":"/api/users/me"' in line]
    assert lines and '"status":200' in lines[-1] and '"latency_ms"' in lines[-1]
    assert '"user":"' in lines[-1] and '"request_id":"' in lines[-1]
