"""The payments service over real HTTP on SQLite or PostgreSQL, tokens from the real users
service."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from services.payments.app import create_app
from services.payments.settings import PaymentsSettings
from services.payments.store import OUTBOX
from tests.services.orders.support import Issuer, Running, issuer, running  # noqa: F401

CHAIN_SECRET = "chain-test-secret"
WEBHOOK_SECRET = "webhook-test-secret"


@pytest.fixture
def make_payments(database_url: str, issuer: Issuer,  # noqa: F811 - fixture
                  tmp_path: Path) -> Iterator[Callable[..., Running]]:
    with ExitStack() as stack:
        def make(**overrides: Any) -> Running:
            settings = PaymentsSettings(**{
                "database_url": database_url, "data_dir": tmp_path, "jwks_url": issuer.jwks_url,
                "chain_secret": CHAIN_SECRET, "webhook_secret": WEBHOOK_SECRET,
                "webhook_base_delay_s": 0.05, **overrides})
            return stack.enter_context(running(create_app(settings), issuer, OUTBOX))

        yield make


@pytest.fixture
def payments(make_payments: Callable[..., Running]) -> Running:
    return make_payments()
