"""`shop orders ...`: the orders service's background processes."""

from __future__ import annotations

import contextlib

import typer

app = typer.Typer(help="Orders: bus consumers and the saga worker.", no_args_is_help=True)


@app.command()
def events() -> None:
    """Consume shipment and payment events (order shipped/delivered, waiting sagas woken)."""
    import threading

    from services.orders.app import Settings, build_orders, database
    from services.orders.consumer import run_all
    from services.platform.logging import configure_logging
    from services.platform.redis import resolve_redis_url, sync_client

    settings = Settings()
    configure_logging("orders-events", settings.log_level)
    db = database(settings)
    db.migrate()
    stop = threading.Event()
    threads = run_all(build_orders(settings, db), sync_client(resolve_redis_url(
        settings.redis_url, settings.data_dir)), stop)
    try:
        for t in threads:
            t.join()
    except KeyboardInterrupt:
        stop.set()


@app.command("saga-worker")
def saga_worker() -> None:
    """Run the saga worker on its own (for deployments that set ORDERS_SAGA_WORKER=0)."""
    import threading

    from services.orders.app import Settings, build_orders, database
    from services.orders.saga import SagaWorker
    from services.platform.logging import configure_logging

    settings = Settings()
    configure_logging("orders-saga-worker", settings.log_level)
    db = database(settings)
    db.migrate()
    with contextlib.suppress(KeyboardInterrupt):
        SagaWorker(build_orders(settings, db).runner, settings).run(threading.Event())


if __name__ == "__main__":
    app()
