"""Settings of the notifications service and its worker (env prefix `NOTIFICATIONS_`).

`SMTP_URL` and `SMS_URL` are read without prefix, like every store URL: unset means the embedded
default (the local SMTP sink `shop up` starts, writing a Maildir the dev mailbox reads; and the dev
SMS outbox table), set means that server is used and must answer at start.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.platform.settings import DatabaseSettings


class NotificationsSettings(DatabaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore")

    service_name: str = "notifications"
    port: int = 8008
    smtp_url: str | None = Field(None, validation_alias="SMTP_URL")
    """`smtp://user:pass@host:port` (STARTTLS when offered) or `smtps://...` (implicit TLS)."""
    sink_port: int = 8025
    """Port of the embedded SMTP sink used when `SMTP_URL` is unset."""
    sms_url: str | None = Field(None, validation_alias="SMS_URL")
    """HTTP SMS provider endpoint (JSON `{to, body, reference}`); unset: the dev outbox."""
    sms_api_key: str | None = Field(None, validation_alias="SMS_API_KEY")
    mail_from: str = "Shop <no-reply@shop.example>"
    public_base_url: str = "http://localhost:8000"
    """Where links in messages point (the gateway serving the storefront)."""
    smtp_connections: int = 4
    """Concurrent SMTP connections of one worker (each one reused across messages)."""
    send_timeout_s: float = 10.0
    max_attempts: int = 8
    retry_base_s: float = 2.0
    retry_max_s: float = 15 * 60.0
    dispatch_batch: int = 200
    max_event_age_s: float = 2 * 24 * 3600
    """Older events still update the recipients projection but send nothing."""
    recipient_wait_s: float = 5.0
    """How long an event for a user not yet in the projection is retried (the consumer's
    backoff) before it is sent without email; keep it below the consumer's total retry time."""
    retention_days: int = 30
    """Finished deliveries and processed-event ids older than this are pruned (hourly)."""
    default_quiet_start: str | None = "22:00"
    default_quiet_end: str | None = "08:00"

    @property
    def embedded_smtp(self) -> bool:
        return not self.smtp_url

    @property
    def effective_smtp_url(self) -> str:
        return self.smtp_url or f"smtp://127.0.0.1:{self.sink_port}"

    @property
    def mailbox_dir(self) -> Path:
        """Maildir the embedded sink writes and the dev mailbox reads."""
        return self.service_dir / "mailbox"
