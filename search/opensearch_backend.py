"""OpenSearch engine (used when `OPENSEARCH_URL` is set): same contract as the embedded one.

Writes go through the alias; `rebuild` creates a new physical index from the template body,
bulk-loads it while the old one serves (updates arriving meanwhile are written to both), then
swaps the alias in one `update_aliases` call, which OpenSearch applies atomically.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from opensearchpy import OpenSearch, helpers

from search import opensearch_dsl as dsl
from search.backend import SearchBackend, generation_name
from search.documents import ProductDocument
from search.facets import parse_facets
from search.query import SearchQuery, SortOrder
from search.relax import plain_words, relax
from search.results import Hit, SearchResult

log = logging.getLogger(__name__)
BULK_CHUNK = 1_000


class OpenSearchBackend(SearchBackend):
    def __init__(self, url: str, alias: str = "products", client: OpenSearch | None = None):
        self.alias = alias
        self.client = client or OpenSearch(hosts=[url], timeout=30)
        self._rebuilding: str | None = None
        self._synonyms = dsl.synonym_rules()

    def ping(self) -> None:
        """Fail clearly at start-up when the configured server does not answer."""
        if not self.client.ping():
            raise RuntimeError("OpenSearch at OPENSEARCH_URL does not answer")

    # -- indexes and the alias --------------------------------------------------------------
    def create_index(self, name: str) -> None:
        self.client.indices.create(index=name, body=dsl.index_body(self._synonyms))

    def current_index(self) -> str | None:
        if not self.client.indices.exists_alias(name=self.alias):
            return None
        return sorted(self.client.indices.get_alias(name=self.alias))[-1]

    def swap_alias(self, name: str) -> None:
        previous = self.current_index()
        actions: list[dict[str, Any]] = [{"add": {"index": name, "alias": self.alias}}]
        if previous and previous != name:
            actions.insert(0, {"remove": {"index": previous, "alias": self.alias}})
        self.client.indices.update_aliases(body={"actions": actions})
        keep_from = previous or name
        for index in self.client.indices.get(index=f"{self.alias}-*"):
            if index < keep_from:
                self.client.indices.delete(index=index)

    # -- writing ----------------------------------------------------------------------------
    def _bulk(self, actions: Iterator[dict[str, Any]]) -> None:
        helpers.bulk(self.client, actions, chunk_size=BULK_CHUNK, raise_on_error=False)

    def _targets(self) -> list[str]:
        return [self.alias, *([self._rebuilding] if self._rebuilding else [])]

    def index(self, docs: Iterable[ProductDocument]) -> int:
        self.ensure_index()
        batch = list(docs)
        for target in self._targets():
            self._bulk({"_op_type": "index", "_index": target, "_id": str(d.id),
                        "_source": dsl.document_body(d)} for d in batch)
        return len(batch)

    def delete(self, ids: Iterable[int]) -> int:
        batch = list(ids)
        for target in self._targets():
            self._bulk({"_op_type": "delete", "_index": target, "_id": str(i)} for i in batch)
        return len(batch)

    def refresh(self) -> None:
        self.client.indices.refresh(index=self.alias)

    def rebuild(self, docs: Iterable[ProductDocument]) -> str:
        name = generation_name(self.alias)
        self.create_index(name)
        self._rebuilding = name
        try:
            self._bulk({"_op_type": "index", "_index": name, "_id": str(d.id),
                        "_source": dsl.document_body(d)} for d in docs)
            self.client.indices.refresh(index=name)
            self.swap_alias(name)
        except BaseException:
            self.client.indices.delete(index=name, ignore_unavailable=True)
            raise
        finally:
            self._rebuilding = None
        log.info("search rebuild %s: alias %s swapped", name, self.alias)
        return name

    # -- reading ----------------------------------------------------------------------------
    def doc_count(self) -> int:
        if self.current_index() is None:
            return 0
        return int(self.client.count(index=self.alias)["count"])

    def search(self, query: SearchQuery) -> SearchResult:
        if (query.q and not plain_words(query.q)) or self.current_index() is None:
            return SearchResult(hits=[], total=0, page=query.page, size=query.size)
        resp = self.client.search(index=self.alias, body=dsl.search_body(query))
        result = parse_search_response(resp, query)
        if result.total == 0 and query.q:
            result.suggestion = relax(query, self.count, self.vocabulary_near)
        return result

    def count(self, query: SearchQuery) -> int:
        if query.q and not plain_words(query.q):
            return 0
        return int(self.client.count(index=self.alias, body=dsl.count_body(query))["count"])

    def suggest(self, prefix: str, n: int = 8) -> list[str]:
        if not plain_words(prefix) or n <= 0:
            return []
        resp = self.client.search(index=self.alias, body=dsl.suggest_body(prefix, n))
        seen: dict[str, str] = {}
        for hit in resp["hits"]["hits"]:
            title = hit["_source"]["title"]
            seen.setdefault(title.casefold(), title)
        return list(seen.values())[:n]

    def vocabulary_near(self, word: str) -> list[tuple[str, int]]:
        resp = self.client.search(index=self.alias, body=dsl.spell_body(word))
        return [(o["text"], int(o["freq"])) for entry in resp["suggest"]["spell"]
                for o in entry["options"]]


def parse_search_response(resp: dict[str, Any], query: SearchQuery) -> SearchResult:
    scored = bool(query.q) and query.sort is SortOrder.relevance
    hits = []
    for raw in resp["hits"]["hits"]:
        doc = dsl.source_to_document(raw["_source"])
        marks = {f: " … ".join(frags) for f, frags in raw.get("highlight", {}).items()}
        hits.append(Hit(id=doc.id, score=raw.get("_score") if scored else None, document=doc,
                        highlights=marks))
    total = resp["hits"]["total"]
    return SearchResult(
        hits=hits,
        total=int(total["value"] if isinstance(total, dict) else total),
        page=query.page, size=query.size,
        facets=parse_facets(resp.get("aggregations", {}), query.facets),
    )
