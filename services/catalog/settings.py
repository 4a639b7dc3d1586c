"""Settings of the catalog service and its indexer (env prefix `CATALOG_`).

The search engine is chosen by the platform-wide `OPENSEARCH_URL` (unset: the embedded tantivy
index under `SEARCH_DIR`, default `<data>/search`), so the catalog API, the indexer and
`shop search reindex` always agree on where the index lives.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.platform.settings import DatabaseSettings

MB = 1024 * 1024


class CatalogSettings(DatabaseSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOG_", extra="ignore")

    service_name: str = "catalog"
    port: int = 8002
    photo_max_bytes: int = 5 * MB
    photo_max_pixels: int = 40_000_000
    """Decoded size cap: a small file can claim a huge canvas (a decompression bomb)."""
    photo_max_side: int = 2048
    """Stored photos are re-encoded no larger than this (and without EXIF metadata)."""
    thumbnail_side: int = 320
    max_photos_per_product: int = 12
    max_body_bytes: int = 5 * MB + 256 * 1024
    """Room for one photo plus the multipart envelope; the photo's own cap is checked apart."""
    low_stock_threshold: int = 5
    currency: str = Field("EUR", validation_alias="SHOP_CURRENCY", pattern=r"^[A-Z]{3}$")
    """The shop's currency: seeded and generated products are priced in it (as are carts,
    delivery rate cards and payments by default)."""
    opensearch_url: str | None = Field(None, validation_alias="OPENSEARCH_URL")
    search_dir_override: Path | None = Field(None, validation_alias="SEARCH_DIR")
    search_index: str = Field("products", validation_alias="SEARCH_INDEX")
    jwks_url: str | None = None
    """Where access tokens' public keys are; default: the users service on `USERS_PORT`."""
    users_port: int = Field(8001, validation_alias="USERS_PORT")

    @property
    def effective_jwks_url(self) -> str:
        return self.jwks_url or f"http://127.0.0.1:{self.users_port}/.well-known/jwks.json"

    @property
    def photos_dir(self) -> Path:
        return self.service_dir / "photos"

    @property
    def search_dir(self) -> Path:
        return self.search_dir_override or self.data_dir / "search"

    @property
    def popularity_signal(self) -> Path:
        """Written by the `product_popularity_signal` Dagster asset (pipelines' reco work dir)."""
        return self.data_dir / "reco" / "popularity_signal.parquet"
