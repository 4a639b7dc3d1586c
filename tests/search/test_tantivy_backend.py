"""Embedded-engine specifics: the pointer file, readers in other processes, no lost updates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from search.documents import ProductDocument, build_document
from search.query import SearchQuery
from search.tantivy_backend import POINTER, TantivyBackend
from tests.search.conftest import CATALOG, catalog_docs


@pytest.fixture
def backend(tmp_path: Path) -> TantivyBackend:
    b = TantivyBackend(tmp_path)
    b.rebuild(catalog_docs())
    return b


def generations(b: TantivyBackend) -> list[str]:
    return sorted(p.name for p in b.dir.iterdir() if p.is_dir())


def test_pointer_names_the_live_generation(backend: TantivyBackend) -> None:
    assert (backend.dir / POINTER).read_text() == backend.current_index()
    assert generations(backend) == [backend.current_index()]


def test_a_reader_elsewhere_follows_the_swap(backend: TantivyBackend, tmp_path: Path) -> None:
    reader = TantivyBackend(tmp_path)  # another process would do the same: open, never write
    assert reader.search(SearchQuery(q="walnut")).total == 2
    backend.rebuild(catalog_docs()[:3])
    assert reader.current_index() == backend.current_index()
    assert reader.search(SearchQuery(q="walnut")).total == 0
    assert reader.doc_count() == 3


def test_rebuild_keeps_only_the_previous_generation(backend: TantivyBackend) -> None:
    first = backend.current_index()
    second = backend.rebuild(catalog_docs())
    third = backend.rebuild(catalog_docs())
    assert generations(backend) == [second, third]
    assert first not in generations(backend)


def test_updates_during_a_rebuild_are_not_lost(backend: TantivyBackend) -> None:
    late = build_document({**CATALOG[0], "id": 500, "sku": "SKU-0500", "title": "Late Zebra"})

    def docs() -> Iterator[ProductDocument]:
        for i, doc in enumerate(catalog_docs()):
            if i == 3:  # an event arrives while the new generation is being filled
                backend.index([late])
                backend.delete([7])
            yield doc

    backend.rebuild(docs())
    backend.refresh()
    assert [h.id for h in backend.search(SearchQuery(q="zebra")).hits] == [500]
    assert 7 not in [h.id for h in backend.search(SearchQuery(q="stride", size=50)).hits]


def test_failed_rebuild_leaves_the_live_index_alone(backend: TantivyBackend) -> None:
    live = backend.current_index()

    def broken() -> Iterator[ProductDocument]:
        yield from catalog_docs()[:2]
        raise RuntimeError("catalog went away")

    with pytest.raises(RuntimeError):
        backend.rebuild(broken())
    assert backend.current_index() == live and generations(backend) == [live]
    assert backend.search(SearchQuery(q="walnut")).total == 2


def test_one_writer_per_index_directory(backend: TantivyBackend, tmp_path: Path) -> None:
    backend.index(catalog_docs()[:1])  # this process now owns the writer
    other = TantivyBackend(tmp_path)
    with pytest.raises(ValueError, match="(?i)lock"):
        other.index(catalog_docs()[:1])
    backend.close()
    assert other.index(catalog_docs()[:1]) == 1


def test_plain_bm25_baseline_ignores_typos_and_synonyms(backend: TantivyBackend) -> None:
    assert backend.plain_bm25_ids("walnut")[:2] == [5, 11] or set(
        backend.plain_bm25_ids("walnut")[:2]) == {5, 11}
    assert backend.plain_bm25_ids("couch") == []
    assert backend.plain_bm25_ids("iphnoe") == []


def test_only_words_missing_from_the_index_are_fuzzy(tmp_path: Path) -> None:
    b = TantivyBackend(tmp_path)
    b.rebuild([
        *catalog_docs(),
        build_document({**CATALOG[0], "id": 600, "sku": "SKU-0600", "title": "Linen Shirt",
                        "brand": "Weaver", "category": "fashion/tops", "description": ""}),
        build_document({**CATALOG[0], "id": 601, "sku": "SKU-0601", "title": "Denim Skirt",
                        "brand": "Weaver", "category": "fashion/bottoms", "description": ""}),
    ])

    def found(q: str) -> set[int]:
        return {h.id for h in b.search(SearchQuery(q=q)).hits}

    assert found("shirt") == {600}  # a real word is taken as typed: not "skirt"
    assert found("skirt") == {601}
    assert 600 in found("shirrt")  # an unknown word still gets typo tolerance


def test_a_reader_sees_every_commit_of_a_writer_elsewhere(backend: TantivyBackend, tmp_path: Path) -> None:
    reader = TantivyBackend(tmp_path)  # as the catalog service reads what the indexer commits
    assert reader.search(SearchQuery(q="zebra")).total == 0
    for n, pid in enumerate((700, 701, 702), start=1):
        backend.index([build_document({**CATALOG[0], "id": pid, "sku": f"SKU-{pid}",
                                       "title": f"Zebra Lamp {pid}"})])
        reader.refresh()
        assert reader.search(SearchQuery(q="zebra")).total == n
    reader.refresh()  # nothing new: no reload needed, same answer
    assert reader.search(SearchQuery(q="zebra")).total == 3
