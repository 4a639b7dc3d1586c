"""`shop delivery ...`: the demo carrier that advances shipments."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="Delivery: the simulated carrier.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Keep `simulate` a named sub-command (typer would fold a lone command into the app)."""


@app.command()
def simulate(
    step_s: Annotated[float | None, typer.Option(help="Seconds per step (default from settings)")] = None,
    url: Annotated[str | None, typer.Option(help="Delivery service base URL")] = None,
) -> None:
    """Move every active shipment one step forward every `step_s` seconds (until Ctrl-C)."""
    from services.delivery.app import Settings, database
    from services.delivery.simulator import CarrierSimulator
    from services.platform.logging import configure_logging

    settings = Settings()
    if step_s is not None:
        settings = settings.model_copy(update={"simulator_step_s": step_s})
    configure_logging("carrier-simulator", settings.log_level)
    db = database(settings)
    db.migrate()
    CarrierSimulator(db, settings, url or f"http://127.0.0.1:{settings.port}").run()


if __name__ == "__main__":
    app()
