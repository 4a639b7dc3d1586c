"""Access-token checks shared by the gateway and every service (defence in depth).

Tokens are EdDSA (Ed25519) JWTs signed by the users service; public keys come from its JWKS.
Only `EdDSA` is accepted, so `alg: none`, HMAC-with-the-public-key and other downgrade tricks
fail before any key is used. An unknown `kid` triggers one JWKS refresh (rate-limited), which is
how key rotation reaches verifiers without a restart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from jwt import PyJWK

from services.platform.concurrency import in_thread
from services.platform.errors import Forbidden, Unauthorized

ISSUER = "shop-users"
AUDIENCE = "shop"
ALGORITHM = "EdDSA"
ROLES = ("customer", "admin")


@dataclass(frozen=True, slots=True)
class Identity:
    user_id: str
    roles: tuple[str, ...]
    email: str | None = None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


class KeySet:
    """Public keys by `kid`, refreshed from a JWKS source when an unknown kid shows up."""

    def __init__(self, fetch: Callable[[], dict[str, Any]] | None = None, min_refresh_s: float = 30):
        self._keys: dict[str, Any] = {}
        self._fetch = fetch
        self._min_refresh_s = min_refresh_s
        self._last_refresh = float("-inf")

    def load(self, jwks: dict[str, Any]) -> None:
        keys = {}
        for jwk in jwks.get("keys", []):
            if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519" and "kid" in jwk:
                keys[jwk["kid"]] = PyJWK(jwk, algorithm=ALGORITHM).key
        self._keys = keys
        self._last_refresh = time.monotonic()

    def get(self, kid: str) -> Any | None:
        key = self._keys.get(kid)
        if key is None and self._fetch and time.monotonic() - self._last_refresh > self._min_refresh_s:
            try:
                self.load(self._fetch())
            except Exception:  # JWKS source down: keep the keys we have
                self._last_refresh = time.monotonic()
            key = self._keys.get(kid)
        return key

    @property
    def kids(self) -> list[str]:
        return list(self._keys)


def remote_keyset(jwks_url: str) -> KeySet:
    """Keys fetched from the users service's JWKS on first use and on unknown kids."""
    import httpx

    def fetch() -> dict[str, Any]:
        response = httpx.get(jwks_url, timeout=3)
        response.raise_for_status()
        return response.json()

    return KeySet(fetch=fetch, min_refresh_s=5)


def decode_token(token: str, keys: KeySet) -> dict[str, Any]:
    """Verify signature, algorithm, issuer, audience and expiry; return the claims."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Unauthorized("The access token is malformed.", slug="invalid-token") from exc
    if header.get("alg") != ALGORITHM:
        raise Unauthorized("The access token uses an unsupported algorithm.", slug="invalid-token")
    key = keys.get(str(header.get("kid", "")))
    if key is None:
        raise Unauthorized("The access token was signed by an unknown key.", slug="invalid-token")
    try:
        return jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("The access token has expired.", slug="token-expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("The access token is invalid.", slug="invalid-token") from exc


class VerifiedTokens:
    """Remembers tokens already verified, until they expire: a client presenting the same token
    on every request pays for the signature check once. Only successful verifications are kept,
    and the expiry is checked on every hit."""

    def __init__(self, keys: KeySet, max_entries: int = 10_000):
        self.keys = keys
        self.max_entries = max_entries
        self._seen: dict[str, tuple[float, dict[str, Any]]] = {}

    def cached(self, token: str) -> dict[str, Any] | None:
        hit = self._seen.get(token)
        if hit is not None and hit[0] > time.time():
            return hit[1]
        return None

    def decode(self, token: str) -> dict[str, Any]:
        claims = self.cached(token)
        if claims is not None:
            return claims
        claims = decode_token(token, self.keys)
        if len(self._seen) >= self.max_entries:
            self._seen.pop(next(iter(self._seen)))  # oldest inserted first (dicts keep order)
        self._seen[token] = (float(claims["exp"]), claims)
        return claims


def identity_from_claims(claims: dict[str, Any]) -> Identity:
    roles = tuple(r for r in claims.get("roles", []) if r in ROLES)
    return Identity(user_id=str(claims["sub"]), roles=roles, email=claims.get("email"))


def bearer_token(request: Request) -> str | None:
    value = request.headers.get("authorization")
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Use 'Authorization: Bearer <token>'.", slug="invalid-token")
    return token.strip()


def current_user(request: Request) -> Identity:
    """The caller, from a verified bearer token (blocking: it may fetch the JWKS)."""
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("Authentication required.")
    return _identify(request, request.app.state.tokens.decode(token))


def _identify(request: Request, claims: dict[str, Any]) -> Identity:
    identity = identity_from_claims(claims)
    request.state.user_id = identity.user_id
    return identity


async def authenticated(request: Request) -> Identity:
    """`current_user` as a coroutine dependency, so FastAPI runs it on the event loop (every sync
    dependency costs a worker-thread hand-off per request). A token this process verified
    before is a dict lookup; a new one is verified in a thread."""
    token = bearer_token(request)
    claims = request.app.state.tokens.cached(token) if token else None
    if claims is None:
        return await in_thread(current_user, request)
    return _identify(request, claims)


async def optional_user(request: Request) -> Identity | None:
    """The caller if a token was sent (and is valid), else None (anonymous)."""
    return await authenticated(request) if request.headers.get("authorization") else None


def admin_user(user: Identity) -> Identity:
    if not user.is_admin:
        raise Forbidden("This action needs the admin role.")
    return user


async def authenticated_admin(user: Annotated[Identity, Depends(authenticated)]) -> Identity:
    return admin_user(user)


CurrentUser = Annotated[Identity, Depends(authenticated)]
OptionalUser = Annotated[Identity | None, Depends(optional_user)]
AdminUser = Annotated[Identity, Depends(authenticated_admin)]
