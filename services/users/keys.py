"""Signing keys and access tokens.

Ed25519 keys live in the service's database (so every instance signs with the same key); the
newest non-retired key signs, all non-retired keys verify and are published in the JWKS.
Rotation = add a key (`shop users rotate-key`); verifiers learn it from the JWKS on the first
token carrying its `kid`; the old key is retired once its tokens have expired.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from services.platform.auth import ALGORITHM, AUDIENCE, ISSUER, KeySet
from services.platform.utc import as_utc
from services.users.store import SigningKey, active_signing_keys


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _public_jwk(kid: str, private: Ed25519PrivateKey) -> dict[str, str]:
    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw), "kid": kid, "alg": ALGORITHM,
            "use": "sig"}


def create_signing_key(session: Session) -> str:
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    kid = hashlib.sha256(pem.encode()).hexdigest()[:16]
    session.add(SigningKey(kid=kid, private_pem=pem, created_at=datetime.now(UTC)))
    session.flush()
    return kid


def retire_keys_older_than(session: Session, age: timedelta) -> list[str]:
    """Retire all but the newest key when older than `age` (after tokens they signed expired)."""
    keys = active_signing_keys(session)
    now = datetime.now(UTC)
    retired = []
    for key in keys[1:]:
        if now - as_utc(key.created_at) >= age:
            key.retired_at = now
            retired.append(key.kid)
    return retired


class Keyring:
    """The loaded keys: signs access tokens and answers the JWKS."""

    def __init__(self) -> None:
        self.signing_kid: str | None = None
        self._private: dict[str, Ed25519PrivateKey] = {}
        self.keyset = KeySet(fetch=None)

    def load(self, session: Session) -> None:
        keys = active_signing_keys(session)
        if not keys:
            create_signing_key(session)
            keys = active_signing_keys(session)
        self._private = {
            k.kid: serialization.load_pem_private_key(k.private_pem.encode(), password=None)
            for k in keys
        }
        self.signing_kid = keys[0].kid
        self.keyset.load(self.jwks())

    def jwks(self) -> dict[str, Any]:
        return {"keys": [_public_jwk(kid, key) for kid, key in self._private.items()]}

    def issue_access_token(
        self, *, user_id: str, email: str, roles: list[str], ttl_seconds: int
    ) -> str:
        now = datetime.now(UTC)
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": user_id,
            "email": email,
            "roles": roles,
            "iat": now,
            "exp": now + timedelta(seconds=ttl_seconds),
            "jti": uuid.uuid4().hex,
        }
        assert self.signing_kid is not None, "keyring not loaded"
        return jwt.encode(
            claims, self._private[self.signing_kid], algorithm=ALGORITHM,
            headers={"kid": self.signing_kid},
        )
