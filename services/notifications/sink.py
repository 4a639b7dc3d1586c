"""The embedded SMTP sink (`shop up` runs `python -m services.notifications.sink`): a real SMTP
server (aiosmtpd) that accepts every message and stores it in a Maildir, so development needs no
mail server and a person can open the verification link from the dev mailbox
(`GET /api/notifications/dev/mailbox`). Maildir writes are atomic (tmp/ then new/), so the
service reads it while the sink writes.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import socket
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import structlog
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from services.platform.worker import stop_on_signals

log = structlog.get_logger("smtp-sink")
LINK = re.compile(r"https?://[^\s<>\"']+")


class MaildirHandler:
    """Stores each message's bytes as received, the Maildir way: written under `tmp/`, then
    renamed into `new/` (atomic, so readers never see half a message). aiosmtpd's own Mailbox
    handler parses and re-serialises every message, which costs more than the SMTP exchange."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.host = socket.gethostname().replace("/", "_").replace(":", "_")
        self.counter = itertools.count()

    async def handle_DATA(self, server: object, session: object, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        trace = (f"X-MailFrom: {envelope.mail_from}\r\n"
                 f"X-RcptTo: {', '.join(envelope.rcpt_tos)}\r\n").encode()
        name = f"{time.time_ns()}.P{os.getpid()}Q{next(self.counter)}.{self.host}"
        tmp = self.directory / "tmp" / name
        tmp.write_bytes(trace + content)
        os.replace(tmp, self.directory / "new" / name)
        return "250 Message accepted for delivery"


class Sink:
    """An SMTP server on `host:port` writing to `directory` (start/stop, or `with`)."""

    def __init__(self, directory: Path, *, host: str = "127.0.0.1", port: int = 8025):
        for sub in ("tmp", "new", "cur"):  # the Maildir layout (mailbox only makes it for a new dir)
            (directory / sub).mkdir(parents=True, exist_ok=True)
        self.directory = directory
        # Lines up to 1000 octets (RFC 5321) but big DATA: HTML emails are long.
        self.controller = Controller(MaildirHandler(directory), hostname=host, port=port,
                                     data_size_limit=10 * 1024 * 1024)

    @property
    def url(self) -> str:
        return f"smtp://{self.controller.hostname}:{self.controller.port}"

    def start(self) -> Sink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> Sink:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


@dataclass(frozen=True)
class StoredMail:
    id: str
    sender: str
    to: str
    subject: str
    date: str | None
    text: str
    html: str | None
    links: list[str]
    message: EmailMessage


def _part(message: EmailMessage, subtype: str) -> str | None:
    body = message.get_body(preferencelist=(subtype,))
    return body.get_content() if body is not None else None


def read_mailbox(directory: Path, *, to: str | None = None, limit: int = 50) -> tuple[list[StoredMail], int]:
    """Newest first; `to` filters by recipient (case-insensitive substring). Reads the Maildir's
    `new/` and `cur/` files directly: the format is just one file per message."""
    files = [e for sub in ("new", "cur") if (directory / sub).is_dir()
             for e in os.scandir(directory / sub) if e.is_file()]
    files.sort(key=lambda e: (e.stat().st_mtime_ns, e.name), reverse=True)
    found: list[StoredMail] = []
    for entry in files:
        try:
            raw = Path(entry.path).read_bytes()
        except FileNotFoundError:  # moved from new/ to cur/ meanwhile
            continue
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        recipient = str(message.get("To", ""))
        if to and to.lower() not in recipient.lower():
            continue
        text = _part(message, "plain") or ""
        found.append(StoredMail(id=entry.name.split(":")[0], sender=str(message.get("From", "")),
                                to=recipient, subject=str(message.get("Subject", "")),
                                date=message.get("Date"), text=text, html=_part(message, "html"),
                                links=list(dict.fromkeys(LINK.findall(text))), message=message))
    return found[:limit], len(found)


def main() -> None:
    from services.notifications.settings import NotificationsSettings
    from services.platform.logging import configure_logging

    settings = NotificationsSettings()
    configure_logging("smtp-sink", settings.log_level)
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP line
    stop = stop_on_signals()
    with Sink(settings.mailbox_dir, port=settings.sink_port) as sink:
        log.info("smtp_sink_started", url=sink.url, maildir=str(settings.mailbox_dir))
        stop.wait()


if __name__ == "__main__":
    main()
