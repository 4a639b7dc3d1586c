"""Rules of notifying: which message goes to which channel, quiet hours, retries, addresses and
unsubscribe tokens. Pure functions over plain data, no I/O."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from email_validator import EmailNotValidError, validate_email


class DomainError(Exception):
    """A rule was broken; the API layer maps it to problem+json."""


class UnknownTemplate(DomainError):
    pass


class InvalidAddress(DomainError):
    pass


class InvalidPreference(DomainError):
    pass


class BadUnsubscribeToken(DomainError):
    pass


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"


class Category(StrEnum):
    ACCOUNT = "account"
    ORDERS = "orders"
    BACK_IN_STOCK = "back_in_stock"
    MARKETING = "marketing"


TRANSACTIONAL = frozenset({Category.ACCOUNT, Category.ORDERS})
"""Messages a shopper needs to trust the shop with their account and money: never switched off,
and always sent by email (SMS and push are optional extras)."""
OPTIONAL = tuple(c for c in Category if c not in TRANSACTIONAL)


@dataclass(frozen=True)
class TemplateSpec:
    name: str
    category: Category
    channels: frozenset[Channel]
    in_app: bool = True
    """Also kept in the notification centre (not for messages carrying single-use secrets)."""


def _spec(name: str, category: Category, *channels: Channel, in_app: bool = True) -> TemplateSpec:
    return TemplateSpec(name, category, frozenset(channels), in_app)


E, S, P = Channel.EMAIL, Channel.SMS, Channel.PUSH
TEMPLATES: dict[str, TemplateSpec] = {t.name: t for t in (
    _spec("verify_email", Category.ACCOUNT, E, in_app=False),
    _spec("password_reset", Category.ACCOUNT, E, in_app=False),
    _spec("password_changed", Category.ACCOUNT, E, P),
    _spec("order_placed", Category.ORDERS, E, S, P),
    _spec("order_paid", Category.ORDERS, E, S, P),
    _spec("payment_failed", Category.ORDERS, E, S, P),
    _spec("order_shipped", Category.ORDERS, E, S, P),
    _spec("order_delivered", Category.ORDERS, E, S, P),
    _spec("order_cancelled", Category.ORDERS, E, S, P),
    _spec("order_refunded", Category.ORDERS, E, P),
    _spec("back_in_stock", Category.BACK_IN_STOCK, E, S, P),
    _spec("personal_offer", Category.MARKETING, E, P),
    _spec("campaign", Category.MARKETING, E),
)}
LOCALES = ("en", "ru")


def template_spec(name: str) -> TemplateSpec:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise UnknownTemplate(f"No template named {name!r}.") from None


def pick_locale(locale: str | None) -> str:
    """`ru-RU` -> `ru`; anything we have no templates for falls back to English."""
    lang = (locale or "en").split("-")[0].split("_")[0].lower()
    return lang if lang in LOCALES else "en"


@dataclass(frozen=True)
class Preferences:
    """A shopper's choices; `categories` holds only the optional categories."""

    email: bool = True
    sms: bool = False
    push: bool = True
    categories: dict[str, bool] = field(default_factory=lambda: {c.value: True for c in OPTIONAL})
    marketing_opt_in: bool = False
    quiet_start: str | None = None
    quiet_end: str | None = None
    timezone: str = "UTC"


def check_categories(categories: dict[str, bool]) -> None:
    """Only optional categories may be switched; transactional ones are always on."""
    for name, enabled in categories.items():
        if name in TRANSACTIONAL and not enabled:
            raise InvalidPreference(f"{name!r} messages are transactional and cannot be switched off.")
        if name not in {c.value for c in Category}:
            raise InvalidPreference(f"Unknown category {name!r}.")


def category_enabled(category: Category, prefs: Preferences) -> bool:
    if category in TRANSACTIONAL:
        return True
    if category is Category.MARKETING and not prefs.marketing_opt_in:
        return False  # marketing needs an explicit opt-in (consent), not just an absent opt-out
    return prefs.categories.get(category.value, True)


def plan_channels(*, spec: TemplateSpec, prefs: Preferences, has_email: bool,
                  has_phone: bool) -> list[Channel]:
    """The channels one message goes out on, in a stable order."""
    if not category_enabled(spec.category, prefs):
        return []
    wanted = {Channel.EMAIL: prefs.email or spec.category in TRANSACTIONAL,
              Channel.SMS: prefs.sms and has_phone, Channel.PUSH: prefs.push}
    if not has_email:
        wanted[Channel.EMAIL] = False
    return [c for c in Channel if c in spec.channels and wanted[c]]


def parse_clock(value: str) -> time:
    try:
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))
    except (ValueError, TypeError):
        raise InvalidPreference(f"{value!r} is not a time of day (HH:MM).") from None


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidPreference(f"Unknown time zone {name!r}.") from None


def quiet_until(*, now: datetime, start: str | None, end: str | None, tz: str) -> datetime | None:
    """When the quiet window around `now` ends (UTC), or None outside it. Windows may wrap
    midnight (22:00-08:00); a window with equal ends is empty."""
    if not start or not end:
        return None
    begin, finish = parse_clock(start), parse_clock(end)
    if begin == finish:
        return None
    local = now.astimezone(zone(tz))
    t = local.time().replace(second=0, microsecond=0)
    inside = begin <= t < finish if begin < finish else (t >= begin or t < finish)
    if not inside:
        return None
    ends = datetime.combine(local.date(), finish, tzinfo=local.tzinfo)
    if ends <= local:
        ends = datetime.combine(local.date() + timedelta(days=1), finish, tzinfo=local.tzinfo)
    return ends.astimezone(UTC)


def is_stale(*, occurred_at: datetime, now: datetime, max_age_s: float) -> bool:
    """An event too old to be worth a message: a consumer group created on a long stream (a new
    deployment, a restored backup) must not mail shoppers about last month's orders."""
    return (now - occurred_at).total_seconds() > max_age_s


def retry_delay(*, attempt: int, base_s: float, cap_s: float, jitter: float = 0.0) -> float:
    """Exponential backoff after the `attempt`-th failure; `jitter` in [0, 1) spreads retries
    of many messages that failed together (the caller passes a random number)."""
    delay = min(cap_s, base_s * 2 ** max(0, attempt - 1))
    return delay * (1 - 0.5 * jitter)


def normalise_phone(raw: str, *, region: str | None = None) -> str:
    """E.164 form of a valid number (libphonenumber's metadata, not a regex)."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidAddress(f"{raw!r} is not a phone number: {exc}.") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidAddress(f"{raw!r} is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str:
    """Syntax check only: deliverability is the SMTP server's business."""
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidAddress(f"{raw!r} is not a valid email address: {exc}") from None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_unsubscribe(*, secret: str, user_id: str, category: str) -> str:
    """A link token naming who leaves which category; HMAC-signed so it cannot be forged for
    someone else. It does not expire: an unsubscribe link in an old email must keep working."""
    payload = f"{user_id}\n{category}".encode()
    mac = hmac.new(secret.encode(), b"unsubscribe\n" + payload, hashlib.sha256).digest()[:18]
    return f"{_b64(payload)}.{_b64(mac)}"


def verify_unsubscribe(*, secret: str, token: str) -> tuple[str, str]:
    """`(user_id, category)` of a genuine token."""
    try:
        payload_part, mac_part = token.split(".")
        payload, mac = _unb64(payload_part), _unb64(mac_part)
        expected = hmac.new(secret.encode(), b"unsubscribe\n" + payload, hashlib.sha256).digest()[:18]
        if not hmac.compare_digest(mac, expected):
            raise ValueError("bad signature")
        user_id, category = payload.decode().split("\n")
    except (ValueError, UnicodeDecodeError):
        raise BadUnsubscribeToken("The unsubscribe link is invalid.") from None
    if category in TRANSACTIONAL or category not in {c.value for c in Category}:
        raise BadUnsubscribeToken("The unsubscribe link is invalid.")
    return user_id, category


def format_money(minor: int, currency: str) -> str:
    """`1234, "EUR"` -> `12.34 EUR` (ISO 4217 exponents of the currencies that are not 2)."""
    exponent = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "BHD": 3, "KWD": 3,
                "JOD": 3, "OMR": 3, "TND": 3}.get(currency.upper(), 2)
    sign = "-" if minor < 0 else ""
    units, cents = divmod(abs(minor), 10**exponent)
    amount = f"{units:,}".replace(",", "\u00a0")
    return f"{sign}{amount}.{cents:0{exponent}d} {currency.upper()}" if exponent else \
        f"{sign}{amount} {currency.upper()}"
