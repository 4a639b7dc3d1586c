"""Where the lake and the warehouse live; every path is overridable from the environment and
defaults to a folder of the platform's data directory (`SHOP_DATA_DIR`, default `data`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class WarehouseSettings(BaseSettings):
    """`LAKE_ROOT` may be a URI (`s3://bucket/lake`) once the lake moves to object storage."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    data_dir: Path = Field(Path("data"), validation_alias="SHOP_DATA_DIR")
    lake_root: str = ""
    warehouse_dir: Path = Path()
    gx_dir: Path = Path()
    """Great Expectations project: suites, validation results and the data docs site."""
    snapshots_kept: int = 3

    @model_validator(mode="after")
    def _default_under_data_dir(self) -> WarehouseSettings:
        if not self.lake_root:
            self.lake_root = str(self.data_dir / "lake")
        if self.warehouse_dir == Path():
            self.warehouse_dir = self.data_dir / "warehouse"
        if self.gx_dir == Path():
            self.gx_dir = self.data_dir / "gx"
        return self
