"""Pure plumbing rules: client addresses, settings, token verification."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.platform.auth import AUDIENCE, ISSUER, KeySet, decode_token
from services.platform.client_ip import client_ip
from services.platform.errors import Unauthorized
from services.platform.settings import DatabaseSettings, ServiceSettings, normalise_database_url

TRUSTED = ("127.0.0.1/32", "10.0.0.0/8")


def test_forwarded_for_is_ignored_from_untrusted_peers() -> None:
    assert client_ip("203.0.113.9", "1.2.3.4", TRUSTED) == "203.0.113.9"


def test_forwarded_for_is_used_from_trusted_proxies() -> None:
    assert client_ip("127.0.0.1", "198.51.100.7", TRUSTED) == "198.51.100.7"


def test_forged_hops_before_the_real_client_are_skipped() -> None:
    # The client forged "1.1.1.1"; our proxy appended the real address it saw.
    assert client_ip("127.0.0.1", "1.1.1.1, 198.51.100.7, 10.1.2.3", TRUSTED) == "198.51.100.7"


def test_production_refuses_the_development_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_ENV", "production")
    with pytest.raises(ValueError, match="real secret"):
        ServiceSettings()
    monkeypatch.setenv("SECRET_KEY", "x")  # prefixless: not the service's own setting
    assert ServiceSettings(secret_key="s3cr3t-for-prod").env == "production"


def test_database_url_defaults_to_sqlite_and_normalises_postgres(tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = DatabaseSettings(service_name="svc", data_dir=tmp_path)
    assert s.sqlalchemy_url == f"sqlite:///{tmp_path.resolve() / 'svc.db'}"
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"


@pytest.fixture(scope="module")
def keys() -> tuple[Ed25519PrivateKey, KeySet]:
    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    keyset = KeySet()
    keyset.load({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "k1"}]})
    return private, keyset


def claims(**over: object) -> dict:
    now = datetime.now(UTC)
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": "u1", "roles": ["customer"], "iat": now,
            "exp": now + timedelta(minutes=5), **over}


def sign(private: Ed25519PrivateKey, payload: dict, kid: str = "k1") -> str:
    return jwt.encode(payload, private, algorithm="EdDSA", headers={"kid": kid})


def test_valid_token_passes(keys) -> None:  # type: ignore[no-untyped-def]
    private, keyset = keys
    assert decode_token(sign(private, claims()), keyset)["sub"] == "u1"


@pytest.mark.parametrize("case", ["expired", "wrong-aud", "wrong-iss", "tampered", "alg-none",
                                  "hmac", "wrong-key", "unknown-kid", "garbage"])
def test_bad_tokens_are_refused(keys, case: str) -> None:  # type: ignore[no-untyped-def]
    private, keyset = keys
    good = sign(private, claims())
    token = {
        "expired": lambda: sign(private, claims(exp=datetime.now(UTC) - timedelta(seconds=1))),
        "wrong-aud": lambda: sign(private, claims(aud="other")),
        "wrong-iss": lambda: sign(private, claims(iss="evil")),
        "tampered": lambda: _tamper(good),
        "alg-none": lambda: _unsigned(claims()),
        "hmac": lambda: jwt.encode(claims(), "public-key-as-secret", algorithm="HS256",
                                   headers={"kid": "k1"}),
        "wrong-key": lambda: sign(Ed25519PrivateKey.generate(), claims()),
        "unknown-kid": lambda: sign(private, claims(), kid="k9"),
        "garbage": lambda: "not.a.jwt",
    }[case]()
    with pytest.raises(Unauthorized):
        decode_token(token, keyset)


def _b64(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj, default=str).encode()).rstrip(b"=").decode()


def _unsigned(payload: dict) -> str:
    payload = {**payload, "iat": 0, "exp": 4102444800}
    return f"{_b64({'alg': 'none', 'kid': 'k1'})}.{_b64(payload)}."


def _tamper(token: str) -> str:
    header, _payload, sig = token.split(".")
    return f"{header}.{_b64(claims(sub='admin', roles=['admin']))}.{sig}"
