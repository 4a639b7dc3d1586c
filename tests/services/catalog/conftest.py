"""The catalog service over real HTTP (uvicorn), real Redis, SQLite or PostgreSQL, the embedded
search index, and a real JWKS endpoint serving the key that signs the test tokens."""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from PIL import Image
from sqlalchemy import select

from services.catalog.app import create_app, make_search_backend
from services.catalog.indexer import Indexer
from services.catalog.settings import CatalogSettings
from services.catalog.store import OUTBOX
from services.platform.auth import AUDIENCE, ISSUER
from services.platform.outbox import OutboxRelay
from services.platform.redis import sync_client
from tests.support.servers import serve


@dataclass
class Signer:
    """Signs access tokens like the users service does; its JWKS is served over HTTP."""

    private: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    kid: str = "test-key"

    def jwks(self) -> dict[str, Any]:
        raw = self.private.public_key().public_bytes(serialization.Encoding.Raw,
                                                     serialization.PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": self.kid,
                          "alg": "EdDSA", "use": "sig"}]}

    def headers(self, user_id: str, *, roles: tuple[str, ...] = ("customer",),
                email: str | None = None) -> dict[str, str]:
        now = datetime.now(UTC)
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": user_id, "roles": list(roles),
                  "email": email or f"{user_id}@example.com", "iat": now,
                  "exp": now + timedelta(minutes=10)}
        token = jwt.encode(claims, self.private, algorithm="EdDSA", headers={"kid": self.kid})
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def signer() -> Iterator[tuple[Signer, str]]:
    signer = Signer()
    jwks_app = FastAPI()
    jwks_app.get("/.well-known/jwks.json")(signer.jwks)
    jwks_app.get("/health")(lambda: {"status": "ok"})
    with serve(jwks_app) as base:
        yield signer, f"{base}/.well-known/jwks.json"


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (64, 48), colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, fmt)
    return out.getvalue()


@dataclass
class CatalogService:
    app: FastAPI
    http: httpx.Client
    settings: CatalogSettings
    signer: Signer
    redis_url: str
    admin: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def user_id(name: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_DNS, name))

    def user(self, name: str) -> dict[str, str]:
        return self.signer.headers(self.user_id(name), email=f"{name}@example.com")

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        with self.app.state.db.session() as session:
            rows = session.execute(select(OUTBOX.c.envelope).order_by(OUTBOX.c.seq)).scalars()
            return [e for e in rows if event_type is None or e["type"] == event_type]

    def category(self, name: str, parent: str | None = None, **extra: Any) -> dict[str, Any]:
        r = self.http.post("/api/catalog/categories", headers=self.admin,
                           json={"name": name, "parent": parent, **extra})
        assert r.status_code == 201, r.text
        return r.json()

    def product(self, sku: str, category: str, **extra: Any) -> dict[str, Any]:
        body = {"sku": sku, "title": f"Product {sku}", "category": category,
                "price_minor": 1999, "currency": "USD", **extra}
        r = self.http.post("/api/catalog/products", headers=self.admin, json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def indexer(self) -> Indexer:
        """An indexer like the catalog-indexer process (own engine handle, own Redis client)."""
        return Indexer(db=self.app.state.db, backend=make_search_backend(self.settings),
                       redis=sync_client(self.redis_url), consumer_name="test")

    def relay(self) -> int:
        relay = OutboxRelay(self.app.state.db, OUTBOX, sync_client(self.redis_url),
                            source="catalog")
        return relay.relay_once()

    def sync_index(self, indexer: Indexer) -> None:
        """Relay the outbox and let the indexer take everything in (deterministic tests)."""
        while self.relay():
            pass
        while indexer.step(block_ms=10):
            pass


@pytest.fixture
def make_catalog(
    database_url: str, redis_url: str, redis_client: object, tmp_path: Path,
    signer: tuple[Signer, str],
) -> Iterator[Callable[..., CatalogService]]:
    started: list[Any] = []
    key_signer, jwks_url = signer

    def make(**overrides: Any) -> CatalogService:
        settings = CatalogSettings(database_url=database_url, redis_url=redis_url,
                                   data_dir=tmp_path, jwks_url=jwks_url, **overrides)
        app = create_app(settings)
        ctx = serve(app)
        base = ctx.__enter__()
        client = httpx.Client(base_url=base, timeout=30)
        started.append((ctx, client))
        admin = key_signer.headers("admin-1", roles=("customer", "admin"))
        return CatalogService(app, client, settings, key_signer, redis_url, admin)

    yield make
    for ctx, client in reversed(started):
        client.close()
        ctx.__exit__(None, None, None)


@pytest.fixture
def catalog(make_catalog: Callable[..., CatalogService]) -> CatalogService:
    return make_catalog()
