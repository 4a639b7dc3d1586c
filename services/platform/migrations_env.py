"""Shared body of every service's Alembic `env.py` (online migrations only)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData, text


def run_migrations(target_metadata: MetaData) -> None:
    config = context.config
    engine = config.attributes.get("engine")
    if engine is None:  # plain `alembic` CLI use: build from the URL in the config
        from services.platform.db import make_engine

        engine = make_engine(config.get_main_option("sqlalchemy.url"))
    version_table = config.attributes.get("version_table", "alembic_version")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table=version_table,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Several processes of one service (uvicorn workers, a relay) may start together:
                # the first migrates, the others wait here and then find the schema at head.
                # (On SQLite, BEGIN IMMEDIATE serialises them the same way.)
                connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                                   {"key": version_table})
            context.run_migrations()
        connection.commit()
