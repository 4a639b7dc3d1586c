"""Dependencies between warehouse assets come from the SQL itself, so they cannot drift."""

from __future__ import annotations

import dagster as dg

from warehouse.models import load_models

EVENT_LAKE = dg.AssetKey("event_lake")
WAREHOUSE_TAGS = {"warehouse": "duckdb"}
"""Op tag of every step that opens the DuckDB working file (one writer at a time)."""


def deps_of(model_key: str) -> list[dg.AssetKey]:
    """Upstream assets of a SQL model: other models by name, the lake for staging."""
    model = load_models()[model_key]
    keys = [dg.AssetKey(dep.split(".", 1)[1]) for dep in sorted(model.depends_on)]
    return keys + ([EVENT_LAKE] if model.raw_sources else [])
