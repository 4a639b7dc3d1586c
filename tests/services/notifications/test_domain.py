"""Rules of notifying and the templates, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notifications import domain
from services.notifications.domain import Category, Channel, Preferences
from services.notifications.intents import HANDLED_TYPES, Notify, RecipientFacts, intents_for
from services.notifications.templates import Renderer


def channels(template: str, prefs: Preferences, *, email: bool = True, phone: bool = True) -> list[Channel]:
    return domain.plan_channels(spec=domain.template_spec(template), prefs=prefs, has_email=email,
                                has_phone=phone)


def test_transactional_messages_always_go_by_email_and_marketing_needs_consent() -> None:
    quiet = Preferences(email=False, sms=False, push=False)
    assert channels("order_paid", quiet) == [Channel.EMAIL]
    assert channels("verify_email", Preferences(sms=True)) == [Channel.EMAIL]  # secrets: email only
    assert channels("back_in_stock", quiet) == []
    assert channels("campaign", Preferences()) == []  # no opt-in
    assert channels("campaign", Preferences(marketing_opt_in=True)) == [Channel.EMAIL]
    assert channels("order_paid", Preferences(sms=True), phone=False) == [Channel.EMAIL, Channel.PUSH]
    assert channels("order_paid", Preferences(sms=True)) == [Channel.EMAIL, Channel.SMS, Channel.PUSH]
    off = Preferences(categories={"back_in_stock": False})
    assert channels("back_in_stock", off) == [] and channels("order_paid", off) == [Channel.EMAIL,
                                                                                    Channel.PUSH]
    assert channels("order_paid", Preferences(), email=False) == [Channel.PUSH]


def test_categories_check_refuses_switching_off_transactional_ones() -> None:
    domain.check_categories({"back_in_stock": False, "marketing": True, "orders": True})
    for bad in ({"orders": False}, {"account": False}, {"weather": True}):
        with pytest.raises(domain.InvalidPreference):
            domain.check_categories(bad)


@pytest.mark.parametrize(("now", "start", "end", "tz", "expected"), [
    ("2026-01-10T23:30:00+00:00", "22:00", "08:00", "UTC", "2026-01-11T08:00:00+00:00"),
    ("2026-01-10T07:59:00+00:00", "22:00", "08:00", "UTC", "2026-01-10T08:00:00+00:00"),
    ("2026-01-10T08:00:00+00:00", "22:00", "08:00", "UTC", None),
    ("2026-01-10T12:00:00+00:00", "13:00", "14:00", "UTC", None),
    ("2026-01-10T13:30:00+00:00", "13:00", "14:00", "UTC", "2026-01-10T14:00:00+00:00"),
    # 20:00 UTC is 23:00 in Moscow (UTC+3): quiet until 08:00 Moscow = 05:00 UTC.
    ("2026-01-10T20:00:00+00:00", "22:00", "08:00", "Europe/Moscow", "2026-01-11T05:00:00+00:00"),
    ("2026-01-10T20:00:00+00:00", "09:00", "09:00", "UTC", None),
    ("2026-01-10T20:00:00+00:00", None, "09:00", "UTC", None),
])
def test_quiet_hours(now: str, start: str | None, end: str, tz: str, expected: str | None) -> None:
    got = domain.quiet_until(now=datetime.fromisoformat(now), start=start, end=end, tz=tz)
    assert got == (datetime.fromisoformat(expected) if expected else None)


def test_quiet_hours_refuse_nonsense() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(domain.InvalidPreference):
        domain.quiet_until(now=now, start="7pm", end="08:00", tz="UTC")
    with pytest.raises(domain.InvalidPreference):
        domain.quiet_until(now=now, start="22:00", end="08:00", tz="Atlantis/Capital")


def test_retry_delay_grows_exponentially_up_to_the_cap() -> None:
    delays = [domain.retry_delay(attempt=a, base_s=2, cap_s=60) for a in range(1, 8)]
    assert delays == [2, 4, 8, 16, 32, 60, 60]
    assert domain.retry_delay(attempt=3, base_s=2, cap_s=60, jitter=0.999) > 4.0


def test_addresses_are_validated_and_normalised() -> None:
    assert domain.normalise_phone("+7 (912) 345-67-89") == "+79123456789"
    assert domain.normalise_phone("020 7946 0958", region="GB") == "+442079460958"
    for bad in ("12345", "+1 123 456 7890", "call me", ""):
        with pytest.raises(domain.InvalidAddress):
            domain.normalise_phone(bad)
    assert domain.normalise_email("Ann@Example.COM") == "Ann@example.com"
    for bad in ("ann", "ann@", "a b@example.com", "ann@example..com"):
        with pytest.raises(domain.InvalidAddress):
            domain.normalise_email(bad)


@given(user_id=st.text(min_size=1, max_size=40).filter(lambda s: "\n" not in s),
       category=st.sampled_from(["back_in_stock", "marketing"]))
def test_unsubscribe_tokens_round_trip_and_resist_forgery(user_id: str, category: str) -> None:
    token = domain.sign_unsubscribe(secret="s3cret", user_id=user_id, category=category)
    assert domain.verify_unsubscribe(secret="s3cret", token=token) == (user_id, category)
    with pytest.raises(domain.BadUnsubscribeToken):
        domain.verify_unsubscribe(secret="other", token=token)
    other = domain.sign_unsubscribe(secret="s3cret", user_id=user_id + "x", category=category)
    forged = other.split(".")[0] + "." + token.split(".")[1]
    with pytest.raises(domain.BadUnsubscribeToken):
        domain.verify_unsubscribe(secret="s3cret", token=forged)


def test_unsubscribe_tokens_cannot_name_transactional_categories() -> None:
    token = domain.sign_unsubscribe(secret="k", user_id="u", category="orders")
    with pytest.raises(domain.BadUnsubscribeToken):
        domain.verify_unsubscribe(secret="k", token=token)
    for junk in ("", "abc", "a.b.c", "!!!.???"):
        with pytest.raises(domain.BadUnsubscribeToken):
            domain.verify_unsubscribe(secret="k", token=junk)


def test_money_uses_the_currency_exponent() -> None:
    assert domain.format_money(123456, "EUR") == "1\u00a0234.56 EUR"
    assert domain.format_money(500, "JPY") == "500 JPY"
    assert domain.format_money(1005, "KWD") == "1.005 KWD"
    assert domain.format_money(-5, "usd") == "-0.05 USD"


def test_locale_falls_back_to_english() -> None:
    assert [domain.pick_locale(x) for x in ("ru", "ru-RU", "RU_ru", "de", None, "")] == \
        ["ru", "ru", "ru", "en", "en", "en"]


def test_every_template_renders_in_every_locale() -> None:
    renderer = Renderer()
    params = {"link": "https://shop.test/x?a=1&b=2", "expires_at": "2026-01-01T00:00:00Z",
              "via": "reset", "order_id": "O-1", "total_minor": 1000, "amount_minor": 250,
              "currency": "EUR", "items": 2, "reason": "<b>no</b>", "carrier": "DHL",
              "tracking_number": "TN1", "sku": "S-1", "available": 3, "code": "C15",
              "discount": "15%", "headline": "Sale", "body": "All -20%", "name": "Ann"}
    for name in domain.TEMPLATES:
        for locale in domain.LOCALES:
            out = renderer.render(name, locale=locale, params=params)
            assert out.subject and out.short and "\n" not in out.subject
            assert "Ann" in out.text and f'lang="{locale}"' in out.html
            assert "https://shop.test/x?a=1&b=2" in out.text  # plain text is not escaped
            assert "<b>no</b>" not in out.html  # event data cannot inject markup
            assert "{{" not in out.text + out.html


def test_unknown_template_and_missing_parameters_are_errors() -> None:
    renderer = Renderer()
    with pytest.raises(domain.UnknownTemplate):
        renderer.render("order_teleported", locale="en", params={})
    from jinja2 import UndefinedError

    with pytest.raises(UndefinedError):
        renderer.render("order_paid", locale="en", params={"order_id": "O-1"})


def test_intents_from_events() -> None:
    base = "https://shop.test/"
    facts = intents_for("user.registered", {"user_id": "u", "email": "e@x.io", "locale": "ru",
                                            "new_field": 1}, base_url=base)
    assert facts == [RecipientFacts("u", "e@x.io", None, "ru", False)]
    [shipped] = intents_for("shipment.created", {"order_id": "O/1", "user_id": "u",
                                                 "tracking_number": "T"}, base_url=base)
    assert isinstance(shipped, Notify) and shipped.params["link"] == "https://shop.test/orders/O%2F1/tracking"
    assert intents_for("inventory.stock_changed", {}, base_url=base) == []
    assert {"order.paid", "payment.failed", "inventory.back_in_stock"} <= HANDLED_TYPES
    assert Category.MARKETING not in domain.TRANSACTIONAL


def test_stale_events() -> None:
    now = datetime(2026, 1, 10, tzinfo=UTC)
    assert domain.is_stale(occurred_at=datetime(2026, 1, 7, tzinfo=UTC), now=now, max_age_s=86400)
    assert not domain.is_stale(occurred_at=datetime(2026, 1, 9, 12, tzinfo=UTC), now=now,
                               max_age_s=86400)


def test_views_accept_the_producers_real_payloads() -> None:
    """Each view reads the payload its producer's registered contract makes."""
    from services.delivery.events import ShipmentCreated
    from services.inventory.events import BackInStock
    from services.orders.events import OrderCancelled, OrderLine, OrderPlaced, OrderRefunded
    from services.payments.events import PaymentFailed

    payloads = {
        "shipment.created": ShipmentCreated(
            shipment_id="s", order_id="O-1", user_id="u", carrier="DHL", service_level="standard",
            tracking_number="TN", price_minor=0, currency="EUR", eta_min_days=1, eta_max_days=3),
        "order.placed": OrderPlaced(order_id="O-1", user_id="u", subtotal_minor=1, total_minor=1,
                                    currency="EUR", lines=[OrderLine(sku="s", product_id="p",
                                                                     quantity=1, unit_price_minor=1)]),
        "order.cancelled": OrderCancelled(order_id="O-1", user_id="u", reason="out of stock"),
        "order.refunded": OrderRefunded(order_id="O-1", user_id="u", amount_minor=1, currency="EUR"),
        "payment.failed": PaymentFailed(payment_id="p", order_id="O-1", user_id="u", amount_minor=1,
                                        currency="EUR", method="card", reason="declined"),
        "inventory.back_in_stock": BackInStock(sku="s", user_id="u", available=2),
    }
    renderer = Renderer()
    for event_type, data in payloads.items():
        [intent] = intents_for(event_type, data.model_dump(mode="json"), base_url="https://shop.test")
        assert isinstance(intent, Notify) and intent.user_id == "u"
        assert renderer.render(intent.template, locale="ru", params=intent.params).subject


def test_personal_offers_from_recommendations_are_announced() -> None:
    """The real `recommendation.offer_granted` payload becomes a personal_offer message with no code
    (the cart applies the offer by itself), in both locales."""
    from services.recommendations.events import OfferGranted

    now = datetime(2026, 1, 10, tzinfo=UTC)
    common = {"offer_id": "o1", "user_id": "u", "segment": "loyal", "rule_id": "r", "campaign_id": "c",
              "name": "Thanks", "starts_at": now, "ends_at": now + timedelta(days=7)}
    percent = OfferGranted(**common, kind="percent", percent_bp=1250).model_dump(mode="json")
    fixed = OfferGranted(**common, kind="fixed", amount_minor=505, currency="EUR").model_dump(mode="json")
    [p] = intents_for("recommendation.offer_granted", percent, base_url="https://shop.test")
    [f] = intents_for("recommendation.offer_granted", fixed, base_url="https://shop.test")
    assert (p.template, p.user_id, p.params["discount"]) == ("personal_offer", "u", "12.5%")
    assert f.params["discount"] == "5.05 EUR" and f.params["link"] == "https://shop.test/cart"
    for locale in ("en", "ru"):
        out = Renderer().render("personal_offer", locale=locale, params=p.params)
        assert "12.5%" in out.subject + out.text and "None" not in out.text + out.html
