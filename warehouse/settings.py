"""Where the lake and the warehouse live; every path is overridable from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class WarehouseSettings(BaseSettings):
    """`LAKE_ROOT` may be a URI (`s3://bucket/lake`) once the lake moves to object storage."""

    model_config = SettingsConfigDict(extra="ignore")

    lake_root: str = "data/lake"
    warehouse_dir: Path = Path("data/warehouse")
    gx_dir: Path = Path("data/gx")
    """Great Expectations project: suites, validation results and the data docs site."""
    snapshots_kept: int = 3
