"""Shared body of every service's Alembic `env.py` (online migrations only)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData


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
            context.run_migrations()
        connection.commit()
