"""Registration, sign-in, token rotation, verification and reset over HTTP."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable

import jwt

from services.platform.auth import KeySet, decode_token
from tests.services.users.conftest import STRONG, UsersService


def problem(r, status: int, slug: str) -> dict:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"].endswith("/" + slug), body
    return body


def test_register_normalises_email_and_requests_verification(users: UsersService) -> None:
    user = users.register("Ann@Example.COM", full_name="Ann")
    assert user["email"] == "ann@example.com"
    assert user["roles"] == ["customer"] and user["email_verified"] is False
    assert "password" not in str(user) and "hash" not in str(user)
    types = [e["type"] for e in users.events()]
    assert types == ["user.registered", "user.email_verification_requested"]
    assert users.events("user.email_verification_requested")[0]["data"]["token"]


def test_duplicate_registration_is_a_conflict_and_writes_nothing(users: UsersService) -> None:
    users.register("bob@example.com")
    before = len(users.events())
    r = users.http.post("/api/users/register", json={"email": "BOB@example.com", "password": STRONG})
    problem(r, 409, "email-taken")
    assert len(users.events()) == before


def test_concurrent_duplicate_registrations_create_one_account(users: UsersService) -> None:
    def attempt(_: int) -> int:
        return users.http.post("/api/users/register",
                               json={"email": "race@example.com", "password": STRONG}).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(attempt, range(8)))
    assert codes == [201] + [409] * 7
    assert len(users.events("user.registered")) == 1


def test_weak_and_invalid_registrations_are_refused_cleanly(users: UsersService) -> None:
    body = problem(users.http.post("/api/users/register",
                                   json={"email": "c@example.com", "password": "password123"}),
                   422, "weak-password")
    assert body["errors"][0]["field"] == "password"
    problem(users.http.post("/api/users/register",
                            json={"email": "dan@example.com", "password": "dan@example.com1"}),
            422, "weak-password")
    problem(users.http.post("/api/users/register", json={"email": "not-an-email", "password": STRONG}),
            422, "validation-error")
    problem(users.http.post("/api/users/register",
                            json={"email": "e@example.com", "password": STRONG, "role": "admin"}),
            422, "validation-error")
    problem(users.http.post("/api/users/register", json={"email": 5, "password": ["x"]}),
            422, "validation-error")
    problem(users.http.post("/api/users/register", content=b'{"email":',
                            headers={"content-type": "application/json"}), 400, "malformed-json")
    problem(users.http.post("/api/users/register", content=b"x" * 2_000_000,
                            headers={"content-type": "application/json"}), 413, "payload-too-large")
    assert users.events() == []


def test_login_returns_a_verifiable_short_lived_token(users: UsersService) -> None:
    user = users.register("fay@example.com")
    pair = users.tokens("FAY@example.com")
    assert pair["token_type"] == "bearer" and pair["expires_in"] == 900
    keyset = KeySet()
    keyset.load(users.http.get("/.well-known/jwks.json").json())
    claims = decode_token(pair["access_token"], keyset)
    assert claims["sub"] == user["id"] and claims["roles"] == ["customer"]
    assert claims["exp"] - claims["iat"] == 900


def test_wrong_password_and_unknown_email_look_the_same(users: UsersService) -> None:
    users.register("gus@example.com")
    a = problem(users.login("gus@example.com", "wrong password here"), 401, "invalid-credentials")
    b = problem(users.login("nobody@example.com", "wrong password here"), 401, "invalid-credentials")
    assert a["detail"] == b["detail"]


def test_login_is_throttled_per_account(users: UsersService) -> None:
    users.register("hal@example.com")
    for _ in range(5):
        problem(users.login("hal@example.com", "nope nope nope"), 401, "invalid-credentials")
    r = users.login("hal@example.com")  # even the right password waits now
    problem(r, 429, "login-throttled")
    assert 0 < int(r.headers["retry-after"]) <= 900


def test_login_is_throttled_per_ip(make_users: Callable[..., UsersService]) -> None:
    users = make_users(login_max_failures_per_ip=3)
    for i in range(3):
        problem(users.login(f"x{i}@example.com", "nope nope nope"), 401, "invalid-credentials")
    problem(users.login("another@example.com", "nope nope nope"), 429, "login-throttled")
    # A forged X-Forwarded-For from an untrusted peer does not reset the count... but the test
    # client is 127.0.0.1, a trusted proxy in development, so a forwarded address counts apart.
    r = users.login("another@example.com", "nope", headers={"x-forwarded-for": "198.51.100.9"})
    problem(r, 401, "invalid-credentials")


def test_refresh_rotates_and_reuse_revokes_the_family(users: UsersService) -> None:
    users.register("ida@example.com")
    first = users.tokens("ida@example.com")
    second = users.http.post("/api/users/token/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second_pair = second.json()
    assert second_pair["refresh_token"] != first["refresh_token"]
    problem(users.http.post("/api/users/token/refresh", json={"refresh_token": first["refresh_token"]}),
            401, "refresh-token-reused")
    problem(users.http.post("/api/users/token/refresh",
                            json={"refresh_token": second_pair["refresh_token"]}),
            401, "invalid-refresh-token")
    problem(users.http.post("/api/users/token/refresh", json={"refresh_token": "x" * 43}),
            401, "invalid-refresh-token")


def test_expired_refresh_token_is_refused(make_users: Callable[..., UsersService]) -> None:
    users = make_users(refresh_token_ttl_s=0)
    users.register("jo@example.com")
    pair = users.tokens("jo@example.com")
    problem(users.http.post("/api/users/token/refresh", json={"refresh_token": pair["refresh_token"]}),
            401, "invalid-refresh-token")


def test_logout_revokes_the_session(users: UsersService) -> None:
    users.register("kim@example.com")
    pair = users.tokens("kim@example.com")
    auth = {"Authorization": f"Bearer {pair['access_token']}"}
    assert users.http.post("/api/users/logout", json={"refresh_token": pair["refresh_token"]},
                           headers=auth).status_code == 204
    problem(users.http.post("/api/users/token/refresh", json={"refresh_token": pair["refresh_token"]}),
            401, "invalid-refresh-token")


def test_email_verification_token_is_single_use(users: UsersService) -> None:
    users.register("lea@example.com")
    token = users.events("user.email_verification_requested")[0]["data"]["token"]
    r = users.http.post("/api/users/verify-email", json={"token": token})
    assert r.status_code == 200 and r.json()["email_verified"] is True
    problem(users.http.post("/api/users/verify-email", json={"token": token}), 422, "invalid-token")
    problem(users.http.post("/api/users/verify-email", json={"token": "y" * 43}), 422, "invalid-token")
    assert len(users.events("user.email_verified")) == 1
    r = users.http.post("/api/users/me/verify-email", headers=users.auth("lea@example.com"))
    problem(r, 409, "already-verified")


def test_password_reset_flow(users: UsersService) -> None:
    users.register("max@example.com")
    old = users.tokens("max@example.com")
    reset = "/api/users/password-reset"
    assert users.http.post(reset, json={"email": "ghost@example.com"}).status_code == 202
    assert users.events("user.password_reset_requested") == []
    assert users.http.post(reset, json={"email": "MAX@example.com"}).status_code == 202
    token = users.events("user.password_reset_requested")[0]["data"]["token"]
    new_password = "purple elephants dance quietly"
    problem(users.http.post("/api/users/password-reset/confirm",
                            json={"token": token, "new_password": "12345678"}), 422, "weak-password")
    r = users.http.post("/api/users/password-reset/confirm",
                        json={"token": token, "new_password": new_password})
    assert r.status_code == 204
    problem(users.login("max@example.com"), 401, "invalid-credentials")
    assert users.login("max@example.com", new_password).status_code == 200
    problem(users.http.post("/api/users/token/refresh", json={"refresh_token": old["refresh_token"]}),
            401, "invalid-refresh-token")
    problem(users.http.post("/api/users/password-reset/confirm",
                            json={"token": token, "new_password": new_password + "!"}),
            422, "invalid-token")
    assert users.events("user.password_changed")[0]["data"]["via"] == "reset"


def test_expired_reset_token_is_refused(make_users: Callable[..., UsersService]) -> None:
    users = make_users(reset_token_ttl_s=0)
    users.register("ned@example.com")
    users.http.post("/api/users/password-reset", json={"email": "ned@example.com"})
    token = users.events("user.password_reset_requested")[0]["data"]["token"]
    problem(users.http.post("/api/users/password-reset/confirm",
                            json={"token": token, "new_password": "purple elephants dance quietly"}),
            422, "invalid-token")


def test_change_password_needs_the_current_one(users: UsersService) -> None:
    users.register("oli@example.com")
    auth = users.auth("oli@example.com")
    problem(users.http.post("/api/users/me/password", headers=auth,
                            json={"current_password": "wrong one", "new_password": "blue whales sing"}),
            422, "wrong-password")
    r = users.http.post("/api/users/me/password", headers=auth,
                        json={"current_password": STRONG, "new_password": "blue whales sing at dawn"})
    assert r.status_code == 204
    assert users.login("oli@example.com", "blue whales sing at dawn").status_code == 200


def test_bad_access_tokens_are_refused(make_users: Callable[..., UsersService]) -> None:
    users = make_users(access_token_ttl_s=-1)
    users.register("pat@example.com")
    expired = users.tokens("pat@example.com")["access_token"]
    problem(users.http.get("/api/users/me", headers={"Authorization": f"Bearer {expired}"}),
            401, "token-expired")
    none_alg = jwt.encode({"sub": "x"}, None, algorithm="none")  # type: ignore[arg-type]
    problem(users.http.get("/api/users/me", headers={"Authorization": f"Bearer {none_alg}"}),
            401, "invalid-token")
    problem(users.http.get("/api/users/me", headers={"Authorization": "Basic abc"}), 401, "invalid-token")
    problem(users.http.get("/api/users/me"), 401, "unauthorized")


def test_key_rotation_keeps_old_tokens_valid(users: UsersService) -> None:
    from services.users.keys import create_signing_key

    users.register("quin@example.com")
    old_auth = users.auth("quin@example.com")
    with users.app.state.db.session() as session:
        create_signing_key(session)
    with users.app.state.db.session() as session:
        users.app.state.keyring.load(session)
    jwks = users.http.get("/.well-known/jwks.json").json()
    assert len(jwks["keys"]) == 2
    assert users.http.get("/api/users/me", headers=old_auth).status_code == 200
    new_token = users.tokens("quin@example.com")["access_token"]
    assert jwt.get_unverified_header(new_token)["kid"] == jwks["keys"][0]["kid"]
