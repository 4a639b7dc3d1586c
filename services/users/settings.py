"""Settings of the users service (env prefix `USERS_`)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from services.platform.settings import DatabaseSettings


class UsersSettings(DatabaseSettings):
    model_config = SettingsConfigDict(env_prefix="USERS_", extra="ignore")

    service_name: str = "users"
    port: int = 8001
    access_token_ttl_s: int = 15 * 60
    refresh_token_ttl_s: int = 30 * 24 * 3600
    verification_token_ttl_s: int = 24 * 3600
    reset_token_ttl_s: int = 3600
    login_max_failures_per_account: int = 5
    login_max_failures_per_ip: int = 30
    login_failure_window_s: int = 15 * 60
    min_password_score: int = 3
