"""Rules of identity, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.users import domain


def test_password_strength() -> None:
    assert not domain.check_password_strength("short", user_inputs=[]).ok
    assert not domain.check_password_strength("password1234", user_inputs=[]).ok
    assert not domain.check_password_strength("annsmith2024!", user_inputs=["annsmith"]).ok
    assert not domain.check_password_strength("x" * 129, user_inputs=[]).ok
    verdict = domain.check_password_strength("correct horse battery staple", user_inputs=[])
    assert verdict.ok and verdict.score >= 3 and verdict.reasons == []


def test_tokens_are_random_and_stored_hashed() -> None:
    a, b = domain.new_secret_token(), domain.new_secret_token()
    assert a != b and len(a) >= 43
    assert domain.hash_token(a) == domain.hash_token(a) != a
    assert len(domain.hash_token(a)) == 64


def test_single_use_tokens() -> None:
    now = datetime.now(UTC)
    later = now + timedelta(hours=1)
    assert domain.is_usable(now=now, expires_at=later, used_at=None)
    assert not domain.is_usable(now=now, expires_at=later, used_at=now)
    assert not domain.is_usable(now=later, expires_at=later, used_at=None)


def test_emails_compare_case_insensitively() -> None:
    assert domain.normalise_email("  Ann@Example.COM ") == "ann@example.com"
