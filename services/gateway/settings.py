"""Settings of the gateway (env prefix `GATEWAY_`)."""

from __future__ import annotations

from pydantic import BaseModel
from pydantic_settings import SettingsConfigDict

from services.platform.settings import ServiceSettings

SERVICE_PORTS = {
    "users": 8001, "catalog": 8002, "cart": 8003, "orders": 8004, "payments": 8005,
    "inventory": 8006, "delivery": 8007, "notifications": 8008, "analytics": 8009,
    "recommendations": 8010,
}


class RateLimit(BaseModel):
    """Token bucket: `capacity` requests at once, refilled at `per_second`."""

    capacity: int
    per_second: float


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    service_name: str = "gateway"
    port: int = 8000
    upstreams: dict[str, str] = {
        name: f"http://127.0.0.1:{port}" for name, port in SERVICE_PORTS.items()
    }
    upstream_timeout_s: float = 10.0
    upstream_connect_timeout_s: float = 2.0
    upstream_pool_size: int = 256
    jwks_service: str = "users"
    jwks_refresh_s: float = 300.0
    rate_limits_enabled: bool = True
    client_rate: RateLimit = RateLimit(capacity=200, per_second=50)
    user_rate: RateLimit = RateLimit(capacity=400, per_second=100)
    auth_rate: RateLimit = RateLimit(capacity=10, per_second=0.5)
    route_limits: dict[str, RateLimit] = {}
    """Per-route overrides of the client bucket, keyed by rule name (see routes.py), e.g.
    `GATEWAY_ROUTE_LIMITS='{"users.auth": {"capacity": 5, "per_second": 0.1}}'`."""
    cache_ttl_s: int = 30
    cors_origins: list[str] = ["http://localhost:5173", "http://127.0.0.1:5173"]
