"""The `shop` command: run the platform and operate it.

Heavy imports stay inside the commands so `shop --help` answers instantly.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Run and operate the shop platform.")
admin_app = typer.Typer(no_args_is_help=True, help="Administrator accounts.")
users_app = typer.Typer(no_args_is_help=True, help="Users service operations (signing keys).")
events_app = typer.Typer(no_args_is_help=True, help="Event contracts.")
app.add_typer(admin_app, name="admin")
app.add_typer(users_app, name="users")
app.add_typer(events_app, name="events")


def _mount_areas() -> None:
    """Sub-commands owned by the data/ML areas (their heavy imports stay inside commands)."""
    from models.cli import app as reco_app
    from search.cli import app as search_app
    from warehouse.cli import app as warehouse_app

    app.add_typer(reco_app, name="reco")
    app.add_typer(search_app, name="search")
    app.add_typer(warehouse_app, name="warehouse")


_mount_areas()


@app.command()
def up() -> None:
    """Start every service, relay and consumer with embedded stores; Ctrl-C stops them all."""
    from shop.processes import Stack
    from shop.supervisor import up as run_up

    raise typer.Exit(run_up(Stack.from_env()))


@app.command()
def status() -> None:
    """Show what runs where (asks the running supervisor)."""
    from rich.console import Console
    from rich.table import Table

    from shop.processes import Stack
    from shop.supervisor import status as read_status

    try:
        rows = read_status(Stack.from_env())
    except OSError:
        typer.echo("The platform is not running (start it with `make up`).", err=True)
        raise typer.Exit(1) from None
    table = Table("program", "state", "pid", "info", "url")
    for row in rows:
        table.add_row(row["name"], row["state"], row["pid"], row["info"], row["url"])
    Console(width=max(Console().width, 110)).print(table)


@app.command()
def stop() -> None:
    """Stop a platform started by `shop up` in another terminal."""
    from shop.processes import Stack
    from shop.supervisor import stop_stack

    stop_stack(Stack.from_env())


@app.command()
def relay(service: str) -> None:
    """Relay a service's outbox to its Redis stream (run by `shop up`)."""
    from services.platform.logging import configure_logging
    from services.platform.outbox import OutboxRelay
    from services.platform.redis import resolve_redis_url, sync_client
    from services.platform.worker import stop_on_signals

    service_app = importlib.import_module(f"services.{service}.app")
    store = importlib.import_module(f"services.{service}.store")
    settings = service_app.Settings()
    configure_logging(f"{service}-relay", settings.log_level)
    db = service_app.database(settings)
    db.migrate()  # idempotent; the relay may start before its service
    redis = sync_client(resolve_redis_url(settings.redis_url, settings.data_dir))
    stop_event = stop_on_signals()
    OutboxRelay(db, store.OUTBOX, redis, source=service).run(stop=stop_event)


@app.command("lake-writer")
def lake_writer() -> None:
    """Write every event stream into the Parquet lake (run by `shop up`)."""
    from services.platform.logging import configure_logging
    from services.platform.redis import resolve_redis_url, sync_client
    from services.platform.settings import ServiceSettings
    from services.platform.worker import stop_on_signals
    from warehouse.ingest import LakeIngest
    from warehouse.lake import LakeWriter
    from warehouse.settings import WarehouseSettings

    settings = ServiceSettings(service_name="lake-writer")
    configure_logging("lake-writer", settings.log_level)
    redis = sync_client(resolve_redis_url(settings.redis_url, settings.data_dir))
    stop_event = stop_on_signals()
    LakeIngest(redis, LakeWriter(WarehouseSettings().lake_root)).run(stop_event)


@app.command()
def seed(
    products: Annotated[int | None, typer.Option(
        "--products", min=1, help="generate N products instead of the DummyJSON demo")] = None,
    seed_value: Annotated[int, typer.Option("--seed", help="generator seed")] = 42,
    photos: Annotated[bool, typer.Option(help="render demo photos (demo catalog only)")] = True,
    index: Annotated[bool, typer.Option(help="rebuild the search index afterwards")] = True,
) -> None:
    """Load the demo catalog (194 products, reviews, photos) or a generated one of any size."""
    from services.catalog.seed import run
    from services.catalog.settings import CatalogSettings

    report = run(CatalogSettings(), products=products, seed=seed_value, photos=photos,
                 index=index, progress=typer.echo)
    typer.echo(f"seeded {report.products} products ({report.skipped} existed), "
               f"{report.categories} categories, {report.reviews} reviews, {report.photos} photos "
               f"in {report.timings}")


@app.command()
def simulate(
    shoppers: Annotated[int, typer.Option(help="simulated shoppers (through the gateway)")] = 0,
    days: Annotated[int, typer.Option(help="days the shoppers visit over")] = 7,
    seed: Annotated[int, typer.Option(help="same seed, same shoppers and choices")] = 1,
    bulk_events: Annotated[int, typer.Option(help="instead: write N events straight into the lake")] = 0,
    gateway: Annotated[str | None, typer.Option(help="gateway URL (default: this stack's)")] = None,
) -> None:
    """Fill the platform with realistic activity: live shoppers, or a bulk lake for benchmarks."""
    if bulk_events:
        from warehouse.cli import simulate_bulk

        simulate_bulk(events=bulk_events, seed=seed, days=days, start=None, lake=None)
        return
    if shoppers <= 0:
        raise typer.BadParameter("give --shoppers N (or --bulk-events N)")
    from shop.processes import Stack
    from shop.simulator import simulate_shoppers

    url = gateway or f"http://127.0.0.1:{Stack.from_env().port('gateway')}"
    counts = simulate_shoppers(url, shoppers=shoppers, days=days, seed=seed)
    for what, n in sorted(counts.items()):
        typer.echo(f"  {what:28} {n:>8,}")


@app.command("redis-server")
def redis_server() -> None:
    """Run the embedded Redis-compatible server in the foreground."""
    from services.platform.redis import EMBEDDED_PORT, embedded_redis_command

    port = int(os.environ.get("SHOP_EMBEDDED_REDIS_PORT", EMBEDDED_PORT))
    cmd = embedded_redis_command(Path(os.environ.get("SHOP_DATA_DIR", "data")), port)
    os.execv(cmd[0], cmd)


@admin_app.command("create")
def admin_create(
    email: Annotated[str, typer.Option(prompt=True)],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                                          envvar="SHOP_ADMIN_PASSWORD")],
    full_name: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create the first administrator (or grant admin to an existing account)."""
    from services.users.app import build_accounts, database
    from services.users.keys import Keyring
    from services.users.settings import UsersSettings

    settings = UsersSettings()
    db = database(settings)
    db.migrate()
    accounts = build_accounts(settings, db, Keyring())
    user = accounts.create_admin(email=email, password=password, full_name=full_name)
    typer.echo(f"admin ready: {user.email} ({user.id})")


@users_app.command("rotate-key")
def rotate_key() -> None:
    """Add a new signing key; it signs from the next reload, old keys keep verifying."""
    from services.users.app import database
    from services.users.keys import create_signing_key
    from services.users.settings import UsersSettings

    db = database(UsersSettings())
    db.migrate()
    with db.session() as session:
        typer.echo(f"new signing key: {create_signing_key(session)}")


@users_app.command("retire-keys")
def retire_keys(older_than_minutes: int = 60) -> None:
    """Retire all but the newest key once tokens they signed have expired."""
    from datetime import timedelta

    from services.users.app import database
    from services.users.keys import retire_keys_older_than
    from services.users.settings import UsersSettings

    db = database(UsersSettings())
    with db.session() as session:
        retired = retire_keys_older_than(session, timedelta(minutes=older_than_minutes))
    typer.echo(f"retired: {', '.join(retired) or 'none'}")


@events_app.command("schemas")
def event_schemas(out: Path = Path("data/event-schemas.json")) -> None:
    """Export the JSON Schema of every registered event payload."""
    import orjson

    from services.platform.events import json_schemas
    from shop.processes import RELAYED_SERVICES

    for service in RELAYED_SERVICES:
        importlib.import_module(f"services.{service}.events")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(json_schemas(), option=orjson.OPT_INDENT_2))
    typer.echo(f"wrote {out}")


@app.command()
def bench(names: Annotated[list[str] | None, typer.Argument()] = None) -> None:
    """Run benchmarks (all, or the named ones); results go to bench/results/*.json."""
    root = Path(__file__).resolve().parent.parent
    available = sorted(p.stem for p in (root / "bench").glob("*.py") if not p.stem.startswith("_"))
    chosen = names or available
    unknown = set(chosen) - set(available)
    if unknown:
        raise typer.BadParameter(f"unknown benchmark(s): {', '.join(sorted(unknown))}; "
                                 f"available: {', '.join(available)}")
    for name in chosen:
        typer.echo(f"== bench {name}")
        importlib.import_module(f"bench.{name}").main()


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":
    sys.exit(app())
