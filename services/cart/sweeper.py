"""The cart sweeper process (`python -m services.cart.sweeper`, run by `shop up`): every
`CART_SWEEP_INTERVAL_S` seconds it announces carts idle longer than `CART_ABANDON_AFTER_S` as
`cart.abandoned` and expires checkout snapshots the orders service never accepted (giving their
promotion uses back). Guest carts themselves expire by their Redis TTL.

Two sweepers are safe: each announcement is a WATCHed transaction that marks the cart, so a
second sweeper sees it already announced.
"""

from __future__ import annotations

import threading

import structlog

from services.cart.app import build_carts
from services.cart.settings import CartSettings
from services.platform.logging import configure_logging
from services.platform.worker import stop_on_signals

log = structlog.get_logger("cart-sweeper")


def run(settings: CartSettings, stop: threading.Event) -> None:
    carts = build_carts(settings)
    totals = {"abandoned": 0, "snapshots_expired": 0}
    while not stop.is_set():
        try:
            done = carts.sweep()
            for key, value in done.items():
                totals[key] += value
            if any(done.values()):
                log.info("swept", **done, **{f"{k}_total": v for k, v in totals.items()})
        except Exception:
            log.exception("sweep_failed")
        stop.wait(settings.sweep_interval_s)
    log.info("sweeper_stopped", **totals)


def main() -> None:
    settings = CartSettings()
    configure_logging("cart-sweeper", settings.log_level)
    stop = stop_on_signals()
    run(settings, stop)


if __name__ == "__main__":
    main()
