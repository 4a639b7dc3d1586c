"""Which engine to use, from the environment only: `OPENSEARCH_URL` set means OpenSearch,
unset means the embedded tantivy index under `SEARCH_DIR` (default `data/search`)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from search.backend import SearchBackend


class SearchSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    opensearch_url: str | None = None
    search_dir: Path = Path("data/search")
    search_index: str = "products"


def make_backend(settings: SearchSettings | None = None) -> SearchBackend:
    s = settings or SearchSettings()
    if s.opensearch_url:
        from search.opensearch_backend import OpenSearchBackend

        backend = OpenSearchBackend(s.opensearch_url, alias=s.search_index)
        backend.ping()
        return backend
    from search.tantivy_backend import TantivyBackend

    return TantivyBackend(s.search_dir, alias=s.search_index)
