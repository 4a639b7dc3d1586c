"""The one interface every search engine implements; the catalog service only sees this.

Physical indexes have names; the backend's `alias` points at exactly one of them. Readers always
follow the alias, so `rebuild` can fill a fresh index while the old one keeps serving and then
swap the alias in one atomic step (blue/green, no downtime).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from datetime import UTC, datetime

from search.documents import ProductDocument
from search.query import SearchQuery
from search.results import SearchResult


def generation_name(alias: str) -> str:
    """A sortable, unique physical index name for the alias."""
    return f"{alias}-{datetime.now(UTC):%Y%m%d%H%M%S%f}"


class SearchBackend(ABC):
    alias: str

    @abstractmethod
    def create_index(self, name: str) -> None:
        """Create an empty physical index with the full index definition (alias untouched)."""

    @abstractmethod
    def current_index(self) -> str | None:
        """The physical index the alias points at, or None before the first one exists."""

    @abstractmethod
    def swap_alias(self, name: str) -> None:
        """Point the alias at `name` atomically and drop indexes older than the previous one."""

    def ensure_index(self) -> str:
        """Make sure the alias points at an index, creating an empty one on first use."""
        current = self.current_index()
        if current is None:
            current = generation_name(self.alias)
            self.create_index(current)
            self.swap_alias(current)
        return current

    @abstractmethod
    def index(self, docs: Iterable[ProductDocument]) -> int:
        """Insert or replace documents by id (bulk); returns how many were written."""

    @abstractmethod
    def delete(self, ids: Iterable[int]) -> int:
        """Remove documents by id; unknown ids are ignored. Returns how many ids were sent."""

    @abstractmethod
    def refresh(self) -> None:
        """Make everything written so far visible to searches in this process."""

    @abstractmethod
    def search(self, query: SearchQuery) -> SearchResult:
        """Run a validated query. Never raises for odd text: bad text gives an empty result."""

    @abstractmethod
    def count(self, query: SearchQuery) -> int:
        """Only the number of hits (used to try relaxed queries cheaply)."""

    @abstractmethod
    def suggest(self, prefix: str, n: int = 8) -> list[str]:
        """Autocomplete: up to n product titles matching what has been typed so far."""

    @abstractmethod
    def vocabulary_near(self, word: str) -> list[tuple[str, int]]:
        """Indexed words that could be what `word` meant, with document frequencies."""

    @abstractmethod
    def rebuild(self, docs: Iterable[ProductDocument]) -> str:
        """Index `docs` into a fresh physical index and swap the alias to it; returns its name."""

    @abstractmethod
    def doc_count(self) -> int:
        """Documents in the index the alias points at."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release writers and connections."""
