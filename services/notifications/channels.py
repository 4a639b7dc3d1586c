"""The channels behind one interface: `await channel.send(outgoing)`.

A channel raises `SendError(permanent=...)`: permanent failures (a refused recipient, a number
the provider rejects) are not retried; temporary ones (server down, timeout, 4xx SMTP replies,
HTTP 5xx/429) are retried by the dispatcher with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib
import httpx
import orjson
from redis.asyncio import Redis

from services.notifications.store import DevSms
from services.platform.db import Database

PUSH_CHANNEL_PREFIX = "notifications:push:"
"""Redis pub/sub channel of one user's live messages; every gateway process holding a WebSocket
of that user is subscribed (the gateway's `ws.py` uses the same prefix)."""


def push_channel(user_id: str) -> str:
    return PUSH_CHANNEL_PREFIX + user_id


class SendError(Exception):
    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Outgoing:
    delivery_id: str
    user_id: str | None
    address: str | None
    template: str
    payload: dict[str, Any]


class Channel(Protocol):
    async def send(self, message: Outgoing) -> None: ...

    async def close(self) -> None: ...


# --- email --------------------------------------------------------------------------------

@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"SMTP_URL must look like smtp://[user:pass@]host[:port], got {url!r}")
        tls = parts.scheme == "smtps"
        return cls(parts.hostname, parts.port or (465 if tls else 25),
                   unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password else None, tls)

    def client(self, timeout: float) -> aiosmtplib.SMTP:
        # start_tls=None: upgrade when the server offers STARTTLS (a local sink does not).
        return aiosmtplib.SMTP(hostname=self.host, port=self.port, username=self.username,
                               password=self.password, use_tls=self.implicit_tls,
                               start_tls=None if not self.implicit_tls else False, timeout=timeout)


def build_email(message: Outgoing, *, sender: str, domain: str) -> EmailMessage:
    p = message.payload
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = message.address or ""
    mail["Subject"] = p["subject"]
    mail["Date"] = format_datetime(datetime.now(UTC))
    # Derived from the delivery id: a retried send after a lost reply carries the same id, so
    # mail systems can recognise the duplicate.
    mail["Message-ID"] = f"<{message.delivery_id}@{domain}>"
    mail["X-Shop-Template"] = message.template
    if p.get("unsubscribe_url"):
        mail["List-Unsubscribe"] = f"<{p['unsubscribe_url']}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
    mail.set_content(p["text"])
    mail.add_alternative(p["html"], subtype="html")
    return mail


def _smtp_error(exc: Exception) -> SendError:
    code = getattr(exc, "code", None)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        code = min(r.code for r in exc.recipients)
    return SendError(f"SMTP: {exc}", permanent=bool(code and 500 <= code < 600))


class EmailChannel:
    """A small pool of persistent SMTP connections: opening one per message would cost more
    than sending it. A connection that broke is reopened once before the send counts as failed."""

    def __init__(self, url: str, *, sender: str, connections: int = 4, timeout: float = 10.0):
        self.target = SmtpTarget.parse(url)
        self.sender = sender
        self.domain = sender.rsplit("@", 1)[-1].strip(">") or "localhost"
        self.timeout = timeout
        self._idle: asyncio.Queue[aiosmtplib.SMTP] = asyncio.Queue()
        for _ in range(connections):
            self._idle.put_nowait(self.target.client(timeout))

    async def check(self) -> None:
        """Fail clearly at start when the server does not answer."""
        client = self.target.client(self.timeout)
        try:
            await client.connect()
            await client.noop()
        finally:
            with contextlib.suppress(Exception):
                await client.quit()

    async def send(self, message: Outgoing) -> None:
        mail = build_email(message, sender=self.sender, domain=self.domain)
        client = await self._idle.get()
        try:
            for attempt in (1, 2):
                try:
                    if not client.is_connected:
                        await client.connect()
                    await client.send_message(mail)
                    return
                except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError,
                        aiosmtplib.SMTPTimeoutError, ConnectionError, OSError) as exc:
                    client.close()
                    if attempt == 2:
                        raise SendError(f"SMTP server unavailable: {exc}") from exc
                except aiosmtplib.SMTPException as exc:
                    with contextlib.suppress(Exception):
                        await client.rset()
                    raise _smtp_error(exc) from exc
        finally:
            self._idle.put_nowait(client)

    async def close(self) -> None:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client.is_connected:
                with contextlib.suppress(Exception):
                    await client.quit()


# --- SMS ----------------------------------------------------------------------------------

class HttpSmsChannel:
    """A generic JSON SMS provider: `POST {to, body, reference}` with a bearer key. Specific
    providers (Twilio, Vonage...) differ only in this request's shape."""

    def __init__(self, url: str, *, api_key: str | None, timeout: float = 10.0):
        self.url = url
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.AsyncClient(timeout=timeout, headers=headers)

    async def send(self, message: Outgoing) -> None:
        body = {"to": message.address, "body": message.payload["short"],
                "reference": message.delivery_id}
        try:
            response = await self.http.post(self.url, json=body)
        except httpx.HTTPError as exc:
            raise SendError(f"SMS provider unavailable: {exc}") from exc
        if response.status_code >= 400:
            permanent = response.status_code < 500 and response.status_code != 429
            raise SendError(f"SMS provider answered {response.status_code}: {response.text[:200]}",
                            permanent=permanent)

    async def close(self) -> None:
        await self.http.aclose()


class DevOutboxSmsChannel:
    """The embedded default: records the message in `dev_sms` instead of sending it."""

    def __init__(self, db: Database, clock: Callable[[], datetime]):
        self.db = db
        self.clock = clock

    def _record(self, message: Outgoing) -> None:
        with self.db.session() as session:
            session.add(DevSms(to=message.address or "", body=message.payload["short"],
                               reference=message.delivery_id, created_at=self.clock()))

    async def send(self, message: Outgoing) -> None:
        await asyncio.to_thread(self._record, message)

    async def close(self) -> None:
        return None


# --- push ---------------------------------------------------------------------------------

class PushChannel:
    """Publishes to the user's pub/sub channel; whichever gateway holds their sockets forwards
    it. Nobody listening is not an error: the notification centre keeps the message."""

    def __init__(self, redis: Redis):
        self.redis = redis

    async def send(self, message: Outgoing) -> None:
        if not message.user_id:
            raise SendError("push needs a user", permanent=True)
        try:
            await self.redis.publish(push_channel(message.user_id), orjson.dumps(message.payload))
        except Exception as exc:  # redis errors and connection errors alike are temporary
            raise SendError(f"Redis unavailable: {exc}") from exc

    async def close(self) -> None:
        return None
