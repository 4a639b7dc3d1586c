"""The reservation sweeper process (`python -m services.inventory.sweeper`, run by `shop up`):
releases reservations whose expiry has passed, every `INVENTORY_SWEEP_INTERVAL_S` seconds.

It is a process of its own rather than a task inside each web worker, so scaling the service
out does not multiply sweeps; running two sweepers is still safe, because each expiry is a
conditional status change that only one of them can win.
"""

from __future__ import annotations

import threading

import structlog

from services.inventory.app import database
from services.inventory.service import Inventory
from services.inventory.settings import InventorySettings
from services.platform.logging import configure_logging
from services.platform.worker import stop_on_signals

log = structlog.get_logger("inventory-sweeper")


def run(settings: InventorySettings, stop: threading.Event) -> None:
    db = database(settings)
    db.migrate()  # idempotent; the sweeper may start before the service
    inventory = Inventory(db=db, settings=settings)
    total = 0
    while not stop.is_set():
        try:
            total += inventory.sweep_expired()
        except Exception:
            log.exception("sweep_failed")
        stop.wait(settings.sweep_interval_s)
    log.info("sweeper_stopped", expired_total=total)
    db.dispose()


def main() -> None:
    settings = InventorySettings()
    configure_logging("inventory-sweeper", settings.log_level)
    stop = stop_on_signals()
    run(settings, stop)


if __name__ == "__main__":
    main()
