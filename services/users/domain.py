"""Rules of identity: passwords, emails, single-use tokens. Pure functions, no I/O."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from zxcvbn import zxcvbn

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128  # argon2 copes, but unbounded input is a DoS lever


class DomainError(Exception):
    """A rule was broken; `services.platform.errors` style mapping happens in the API layer."""


class WeakPassword(DomainError):
    pass


@dataclass(frozen=True)
class PasswordVerdict:
    ok: bool
    score: int
    reasons: list[str]


def check_password_strength(
    password: str, *, user_inputs: list[str], min_score: int = 3
) -> PasswordVerdict:
    """Length bounds plus zxcvbn's guessability score (0-4) against the user's own data."""
    reasons: list[str] = []
    if len(password) < MIN_PASSWORD_LENGTH:
        reasons.append(f"use at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        return PasswordVerdict(False, 0, [f"use at most {MAX_PASSWORD_LENGTH} characters"])
    result = zxcvbn(password, user_inputs=[u for u in user_inputs if u])
    score = int(result["score"])
    if score < min_score:
        feedback = result.get("feedback", {})
        hint = feedback.get("warning") or "it is too easy to guess"
        reasons.append(f"the password is too weak: {hint}".rstrip("."))
        reasons.extend(s.rstrip(".") for s in feedback.get("suggestions", [])[:2])
    return PasswordVerdict(not reasons, score, reasons)


def normalise_email(email: str) -> str:
    """Emails compare case-insensitively; we store the lower-cased form."""
    return email.strip().lower()


def new_secret_token() -> str:
    """A URL-safe random token with 256 bits of entropy."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Tokens are stored hashed: a leaked table cannot be replayed. SHA-256 suffices for
    high-entropy random tokens (unlike passwords, they cannot be brute-forced)."""
    return hashlib.sha256(token.encode()).hexdigest()


def expiry(now: datetime, ttl_seconds: int) -> datetime:
    return now + timedelta(seconds=ttl_seconds)


def is_usable(*, now: datetime, expires_at: datetime, used_at: datetime | None) -> bool:
    """A single-use token works once, before it expires."""
    return used_at is None and now < expires_at
