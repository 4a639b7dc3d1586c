"""`shop payments ...`: the webhook sender process and the sandbox chain watcher."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="Payments: webhook delivery and sandbox tools.", no_args_is_help=True)


@app.command()
def webhooks() -> None:
    """Deliver signed payment webhooks to the orders service, with retries (runs until Ctrl-C)."""
    from services.payments.app import Settings, database
    from services.payments.webhooks import WebhookSender
    from services.platform.logging import configure_logging

    settings = Settings()
    configure_logging("payments-webhooks", settings.log_level)
    db = database(settings)
    db.migrate()
    WebhookSender(db, settings).run()


@app.command("chain-confirm")
def chain_confirm(
    address: str,
    amount_minor: int,
    confirmations: Annotated[int, typer.Option(help="Blocks on top of the payment")] = 6,
    url: Annotated[str, typer.Option(help="Payments service base URL")] = "http://127.0.0.1:8005",
) -> None:
    """Play the blockchain watcher: report a payment to a crypto invoice address."""
    import uuid
    from datetime import UTC, datetime

    import httpx
    import orjson

    from services.payments.app import Settings
    from services.payments.webhooks import signed_headers

    body = orjson.dumps({"event_id": uuid.uuid4().hex, "address": address,
                         "amount_minor": amount_minor, "confirmations": confirmations})
    headers = signed_headers(Settings().chain_secret, uuid.uuid4().hex, body, datetime.now(UTC))
    r = httpx.post(f"{url}/api/payments/webhooks/chain", content=body, headers=headers)
    typer.echo(f"{r.status_code} {r.text}")


if __name__ == "__main__":
    app()
