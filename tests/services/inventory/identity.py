"""Access tokens for service tests, signed by the real users service (its JWKS served over
HTTP), minted straight from its keyring so tests need no password hashing per user."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI

from services.users.app import create_app as create_users
from services.users.settings import UsersSettings
from tests.support.servers import serve


@dataclass
class Issuer:
    users_app: FastAPI
    jwks_url: str

    def token(self, user_id: str, *, admin: bool = False) -> str:
        roles = ["customer", "admin"] if admin else ["customer"]
        return self.users_app.state.keyring.issue_access_token(
            user_id=user_id, email=f"{user_id}@example.com", roles=roles, ttl_seconds=3600)

    def auth(self, user_id: str, *, admin: bool = False) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user_id, admin=admin)}"}


@pytest.fixture(scope="session")
def issuer(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Issuer]:
    data = tmp_path_factory.mktemp("identity")
    app = create_users(UsersSettings(database_url=f"sqlite:///{data / 'users.db'}",
                                     redis_url=redis_url, data_dir=data))
    with serve(app) as base:
        yield Issuer(app, f"{base}/.well-known/jwks.json")
