"""One `BaseSettings` per service, all built on `ServiceSettings`.

Each service has its own env prefix (`USERS_`, `GATEWAY_`, ...) for its own knobs; the few
platform-wide URLs (`REDIS_URL`, `SHOP_ENV`, `SHOP_DATA_DIR`) are read without prefix so one
environment configures every process. Unset URLs mean "use the embedded default".
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-change-me"  # noqa: S105 - refused outside development, see below


class ServiceSettings(BaseSettings):
    """Settings every service process needs."""

    model_config = SettingsConfigDict(extra="ignore", env_file=None, populate_by_name=True)

    service_name: str = "service"
    env: Literal["development", "test", "production"] = Field(
        "development", validation_alias="SHOP_ENV"
    )
    data_dir: Path = Field(Path("data"), validation_alias="SHOP_DATA_DIR")
    redis_url: str | None = Field(None, validation_alias="REDIS_URL")
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")
    host: str = "127.0.0.1"
    port: int = 8000
    jwks_url: str = Field("http://127.0.0.1:8001/.well-known/jwks.json", validation_alias="JWKS_URL")
    """Where services other than users find the public keys of access tokens."""
    max_body_bytes: int = 1_048_576
    trusted_proxies: list[str] = Field(
        ["127.0.0.1/32", "::1/128"], validation_alias="TRUSTED_PROXIES",
        description="CIDRs whose X-Forwarded-For is believed (the gateway, a load balancer)",
    )
    secret_key: str = Field(DEV_SECRET, description="HMAC secret for signed links/webhooks")

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> ServiceSettings:
        if self.env == "production" and self.secret_key == DEV_SECRET:
            raise ValueError(
                f"{self.service_name}: set a real secret key (the development default is "
                "refused in production)"
            )
        return self

    @property
    def service_dir(self) -> Path:
        """Per-service state folder under `data/`."""
        return self.data_dir / self.service_name


class DatabaseSettings(ServiceSettings):
    """A service with its own SQL database: `<PREFIX>DATABASE_URL` or a SQLite file."""

    database_url: str | None = None
    database_echo: bool = False

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite:///{(self.data_dir / f'{self.service_name}.db').resolve()}"


def normalise_database_url(url: str) -> str:
    """Accept `postgres://`/`postgresql://` URLs and pin the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
