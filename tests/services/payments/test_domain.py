"""Card checks, refund limits and ledger rules (pure functions)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.payments import domain
from services.payments.domain import PaymentRuleError

TODAY = date(2026, 11, 26)


@pytest.mark.parametrize("number", ["4242424242424242", "5555555555554444", "378282246310005",
                                    "4000000000003220", "2200000000000004"])
def test_luhn_accepts_valid_numbers(number: str) -> None:
    assert domain.luhn_valid(number)


@pytest.mark.parametrize("number", ["4242424242424241", "1234", "42424242424242424242", "abcd" * 4])
def test_luhn_refuses_invalid_numbers(number: str) -> None:
    assert not domain.luhn_valid(number)


@given(st.text(alphabet="0123456789", min_size=11, max_size=18))
def test_exactly_one_check_digit_completes_any_prefix(prefix: str) -> None:
    assert sum(domain.luhn_valid(prefix + str(d)) for d in range(10)) == 1


def test_brands() -> None:
    assert domain.card_brand("4242424242424242") == "visa"
    assert domain.card_brand("5555555555554444") == "mastercard"
    assert domain.card_brand("2221000000000009") == "mastercard"
    assert domain.card_brand("378282246310005") == "amex"
    assert domain.card_brand("2200000000000004") == "mir"


def test_card_check_keeps_only_what_may_be_kept() -> None:
    check = domain.check_card(number="4242 4242 4242 4242", exp_month=11, exp_year=2026, cvc="123",
                              today=TODAY)
    assert check == domain.CardCheck(brand="visa", last4="4242", outcome=domain.SUCCESS)
    assert domain.check_card(number="4000000000009995", exp_month=1, exp_year=2030, cvc="999",
                             today=TODAY).outcome == domain.INSUFFICIENT


@pytest.mark.parametrize(("kwargs", "slug"), [
    ({"number": "4242424242424241"}, "invalid-card-number"),
    ({"exp_month": 10, "exp_year": 2026}, "card-expired"),
    ({"exp_month": 13}, "card-expired"),
    ({"cvc": "12"}, "invalid-cvc"),
    ({"number": "378282246310005", "cvc": "123"}, "invalid-cvc"),
])
def test_card_check_refusals(kwargs: dict, slug: str) -> None:
    args = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123", **kwargs}
    with pytest.raises(PaymentRuleError) as err:
        domain.check_card(**args, today=TODAY)
    assert err.value.slug == slug and err.value.status == 422


def test_refunds_never_exceed_the_captured_amount() -> None:
    assert domain.refundable(status=domain.CAPTURED, captured=1000, refunded=0, amount=None) == 1000
    assert domain.refundable(status=domain.PARTIALLY_REFUNDED, captured=1000, refunded=600,
                             amount=400) == 400
    with pytest.raises(PaymentRuleError) as err:
        domain.refundable(status=domain.PARTIALLY_REFUNDED, captured=1000, refunded=600, amount=401)
    assert err.value.slug == "refund-too-large"
    with pytest.raises(PaymentRuleError):
        domain.refundable(status=domain.AUTHORIZED, captured=0, refunded=0, amount=None)


def test_capture_is_bounded_by_the_authorisation() -> None:
    assert domain.capturable(status=domain.AUTHORIZED, authorized=500, amount=300) == 300
    with pytest.raises(PaymentRuleError):
        domain.capturable(status=domain.AUTHORIZED, authorized=500, amount=501)
    with pytest.raises(PaymentRuleError):
        domain.capturable(status=domain.CAPTURED, authorized=500, amount=None)


@given(st.integers(min_value=1, max_value=10**12))
def test_transfers_balance(amount: int) -> None:
    legs = domain.transfer(domain.CARD_CLEARING, domain.SALES, amount)
    assert domain.balanced(legs) and legs[0] == (domain.CARD_CLEARING, amount)


def test_fingerprint_is_canonical() -> None:
    a = domain.fingerprint("POST", "/api/payments", {"a": 1, "b": [1, 2]})
    assert a == domain.fingerprint("POST", "/api/payments", {"b": [1, 2], "a": 1})
    assert a != domain.fingerprint("POST", "/api/payments", {"a": 2, "b": [1, 2]})


def test_backoff_grows_and_is_capped() -> None:
    delays = [domain.backoff_s(n, base=1.0, cap=10) for n in range(1, 7)]
    assert delays == [1, 2, 4, 8, 10, 10]
