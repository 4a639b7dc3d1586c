"""The delivery service over real HTTP on SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.delivery.app import create_app
from services.delivery.settings import DeliverySettings
from services.delivery.store import OUTBOX
from tests.services.orders.support import Issuer, Running, issuer, running  # noqa: F401

CARRIER_SECRET = "carrier-test-secret"


@pytest.fixture
def delivery(database_url: str, issuer: Issuer, tmp_path: Path) -> Iterator[Running]:  # noqa: F811
    settings = DeliverySettings(database_url=database_url, data_dir=tmp_path,
                                jwks_url=issuer.jwks_url, carrier_webhook_secret=CARRIER_SECRET,
                                simulator_step_s=0)
    with running(create_app(settings), issuer, OUTBOX) as service:
        yield service
