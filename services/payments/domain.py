"""Rules of money: card checks, the sandbox processor's outcomes, payment states and the
double-entry ledger. Pure functions, no I/O.

Sandbox test cards (any future expiry, any CVC of the right length):

| number | outcome |
| --- | --- |
| 4242 4242 4242 4242 (Visa), 5555 5555 5555 4444 (Mastercard), 3782 822463 10005 (Amex) | authorised |
| 4000 0000 0000 0002 | declined (`card_declined`) |
| 4000 0000 0000 9995 | declined (`insufficient_funds`) |
| 4000 0000 0000 0069 | declined (`expired_card`, whatever expiry is typed) |
| 4000 0000 0000 0119 | `processing_error` (the processor failed; retrying with a new key may work) |
| 4000 0000 0000 3220 | needs an extra confirmation step (3-D Secure-like); code `424242` passes |

Any other number that passes the Luhn check is authorised. Only a token, the brand, the last
four digits and the expiry are kept; the sandbox outcome is derived once, at tokenisation, so
the number itself never has to be stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

CONFIRMATION_CODE = "424242"

SUCCESS, DECLINED, INSUFFICIENT, EXPIRED, PROCESSING_ERROR, REQUIRES_ACTION = (
    "success", "card_declined", "insufficient_funds", "expired_card", "processing_error",
    "requires_action")

TEST_CARDS: dict[str, str] = {
    "4242424242424242": SUCCESS,
    "5555555555554444": SUCCESS,
    "378282246310005": SUCCESS,
    "4000000000000002": DECLINED,
    "4000000000009995": INSUFFICIENT,
    "4000000000000069": EXPIRED,
    "4000000000000119": PROCESSING_ERROR,
    "4000000000003220": REQUIRES_ACTION,
}

DECLINE_MESSAGES = {
    DECLINED: "The card was declined.",
    INSUFFICIENT: "The card has insufficient funds.",
    EXPIRED: "The card has expired.",
    PROCESSING_ERROR: "The card processor failed; try again.",
}

# Payment states.
REQUIRES_CONFIRMATION = "requires_action"
PENDING = "pending"  # crypto invoice waiting for the chain
AUTHORIZED = "authorized"
CAPTURED = "captured"
PARTIALLY_REFUNDED = "partially_refunded"
REFUNDED = "refunded"
VOIDED = "voided"
FAILED = "failed"
EXPIRED_INVOICE = "expired"
FINAL = frozenset({REFUNDED, VOIDED, FAILED, EXPIRED_INVOICE})

# Ledger accounts. Amounts are signed: debit > 0, credit < 0; every transaction sums to zero.
SALES = "merchant:sales"
CARD_CLEARING = "clearing:card"
CRYPTO_CLEARING = "clearing:crypto"
WALLET_HOLDS = "wallet:holds"


class PaymentRuleError(Exception):
    """A money rule was broken; `slug` and `status` become the problem+json answer."""

    def __init__(self, detail: str, *, slug: str, status: int = 409, **extra: object):
        super().__init__(detail)
        self.detail, self.slug, self.status, self.extra = detail, slug, status, extra


# --- cards -----------------------------------------------------------------------------------
def digits_only(number: str) -> str:
    return "".join(ch for ch in number if ch not in " -")


def luhn_valid(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_brand(number: str) -> str:
    if number.startswith(("34", "37")):
        return "amex"
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or 2221 <= int(number[:4] or 0) <= 2720:
        return "mastercard"
    if 2200 <= int(number[:4] or 0) <= 2204:
        return "mir"
    return "unknown"


def card_expired(*, exp_month: int, exp_year: int, today: date) -> bool:
    """A card is valid through the last day of its expiry month."""
    return (exp_year, exp_month) < (today.year, today.month)


def cvc_valid(cvc: str, brand: str) -> bool:
    return cvc.isdigit() and len(cvc) == (4 if brand == "amex" else 3)


@dataclass(frozen=True)
class CardCheck:
    brand: str
    last4: str
    outcome: str


def check_card(*, number: str, exp_month: int, exp_year: int, cvc: str, today: date) -> CardCheck:
    """Validate what the shopper typed; return what may be kept (never the number or CVC)."""
    pan = digits_only(number)
    if not luhn_valid(pan):
        raise PaymentRuleError("The card number is not valid.", slug="invalid-card-number",
                               status=422, errors=[{"field": "number", "message": "invalid"}])
    brand = card_brand(pan)
    if not 1 <= exp_month <= 12 or card_expired(exp_month=exp_month, exp_year=exp_year, today=today):
        raise PaymentRuleError("The card's expiry date is in the past.", slug="card-expired",
                               status=422, errors=[{"field": "exp_month", "message": "expired"}])
    if not cvc_valid(cvc, brand):
        raise PaymentRuleError("The security code is not valid.", slug="invalid-cvc", status=422,
                               errors=[{"field": "cvc", "message": "invalid"}])
    return CardCheck(brand=brand, last4=pan[-4:], outcome=TEST_CARDS.get(pan, SUCCESS))


def pan_fingerprint(pan: str, secret: str) -> str:
    """Recognises the same card again without keeping it (keyed, so it cannot be reversed by a
    dictionary of all card numbers without the key)."""
    return hmac.new(secret.encode(), digits_only(pan).encode(), hashlib.sha256).hexdigest()


# --- payment state ---------------------------------------------------------------------------
def capturable(*, status: str, authorized: int, amount: int | None) -> int:
    if status != AUTHORIZED:
        raise PaymentRuleError(f"A {status} payment cannot be captured.", slug=f"payment-{status}")
    amount = authorized if amount is None else amount
    if not 0 < amount <= authorized:
        raise PaymentRuleError(f"Capture between 1 and {authorized}.", slug="capture-too-large",
                               status=422)
    return amount


def refundable(*, status: str, captured: int, refunded: int, amount: int | None) -> int:
    """Refunds never exceed what was captured."""
    if status not in (CAPTURED, PARTIALLY_REFUNDED):
        raise PaymentRuleError(f"A {status} payment cannot be refunded.", slug=f"payment-{status}")
    left = captured - refunded
    amount = left if amount is None else amount
    if amount <= 0 or amount > left:
        raise PaymentRuleError(f"At most {left} can still be refunded.", slug="refund-too-large",
                               status=422, refundable_minor=left)
    return amount


def status_after_refund(*, captured: int, refunded: int) -> str:
    return REFUNDED if refunded >= captured else PARTIALLY_REFUNDED


def voidable(status: str) -> None:
    if status not in (AUTHORIZED, REQUIRES_CONFIRMATION, PENDING):
        raise PaymentRuleError(f"A {status} payment cannot be voided.", slug=f"payment-{status}")


# --- ledger ----------------------------------------------------------------------------------
def wallet_account(user_id: str) -> str:
    return f"wallet:{user_id}"


def source_account(method: str, user_id: str) -> str:
    """Where a captured payment's money comes from (and where a refund goes back to)."""
    return {"card": CARD_CLEARING, "crypto": CRYPTO_CLEARING}.get(method) or wallet_account(user_id)


def transfer(debit: str, credit: str, amount: int) -> list[tuple[str, int]]:
    """One balanced movement: `amount` from `credit` to `debit`."""
    if amount <= 0:
        raise ValueError("a transfer moves a positive amount")
    return [(debit, amount), (credit, -amount)]


def balanced(entries: list[tuple[str, int]]) -> bool:
    return sum(amount for _, amount in entries) == 0


# --- idempotency and webhook retries ------------------------------------------------------------------
def fingerprint(method: str, path: str, body: Any) -> str:
    """What "the same request" means for an Idempotency-Key: method, path and canonical body."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def backoff_s(attempt: int, *, base: float, cap: float = 3600.0) -> float:
    """Delay before delivery attempt `attempt + 1` (exponential, capped)."""
    return min(cap, base * 2 ** max(0, attempt - 1))
