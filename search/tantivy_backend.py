"""The embedded engine (default): tantivy indexes on disk, no server.

Layout under `root/<alias>/`: one directory per physical index ("generation") and a `CURRENT`
file naming the live one. tantivy allows one writer per directory, so one process owns
indexing; any number of processes search. `rebuild` fills a new generation while the old one
serves, replays updates that arrived meanwhile, then replaces `CURRENT` with `os.replace`
(atomic). Readers notice the new pointer on their next search (one `stat` per query).
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import tantivy

from search import analysis
from search.backend import SearchBackend, generation_name
from search.documents import ProductDocument
from search.facets import aggregation_spec, parse_facets
from search.query import Facet, SearchQuery, SortOrder
from search.relax import relax
from search.results import Hit, SearchResult
from search.synonyms import Synonyms
from search.tantivy_query import QueryBuilder
from search.tantivy_schema import build_schema, sort_field, to_tantivy

log = logging.getLogger(__name__)

POINTER = "CURRENT"
FACET_FIELDS = {
    Facet.brand: "brand_facet",
    Facet.category: "category_paths",
    Facet.price: "price_minor",
    Facet.rating: "rating_avg",
}
HIGHLIGHT_FIELDS = {"title": 200, "description": 160}  # field -> max snippet chars
REBUILD_HEAP = 256_000_000
UPDATE_HEAP = 32_000_000
PROGRESS_EVERY = 20_000


@dataclass(frozen=True)
class _Generation:
    name: str
    index: tantivy.Index


class TantivyBackend(SearchBackend):
    def __init__(
        self, root: Path | str, alias: str = "products", synonyms: Synonyms | None = None
    ) -> None:
        self.alias = alias
        self.dir = Path(root) / alias
        self.dir.mkdir(parents=True, exist_ok=True)
        self._pointer = self.dir / POINTER
        self.schema = build_schema()
        self.builder = QueryBuilder(self.schema, synonyms or analysis.default_synonyms())
        self._write_lock = threading.RLock()
        self._read_lock = threading.Lock()
        self._gen: _Generation | None = None
        self._pointer_sig: tuple[int, int, int] | None = None
        self._meta_sig: tuple[str, int, int, int] | None = None
        self._writer: tantivy.IndexWriter | None = None
        self._writer_gen: str | None = None
        self._journal: list[tuple[str, list]] | None = None

    # -- generations and the pointer --------------------------------------------------------
    def _open(self, name: str) -> tantivy.Index:
        index = tantivy.Index.open(str(self.dir / name))
        analysis.register(index)
        return index

    def _current(self) -> _Generation | None:
        pointer = self._pointer
        try:
            st = pointer.stat()
        except FileNotFoundError:
            return None
        sig = (st.st_ino, st.st_mtime_ns, st.st_size)
        if sig != self._pointer_sig:
            with self._read_lock:
                if sig != self._pointer_sig:
                    name = pointer.read_text().strip()
                    if self._gen is None or self._gen.name != name:
                        self._gen = _Generation(name, self._open(name))
                    self._pointer_sig = sig
        return self._gen

    def current_index(self) -> str | None:
        gen = self._current()
        return gen.name if gen else None

    def create_index(self, name: str) -> None:
        path = self.dir / name
        path.mkdir(parents=True, exist_ok=False)
        index = tantivy.Index(self.schema, path=str(path), reuse=False)
        analysis.register(index)

    def swap_alias(self, name: str) -> None:
        if not (self.dir / name).is_dir():
            raise FileNotFoundError(f"no index {name!r} under {self.dir}")
        with self._write_lock:
            previous = self.current_index()
            tmp = self.dir / f".{POINTER}.{os.getpid()}.{threading.get_ident()}"
            with open(tmp, "w") as fh:
                fh.write(name)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.dir / POINTER)
            if self._writer_gen != name:
                self._writer, self._writer_gen = None, None  # releases the old directory lock
            self._current()
            self._drop_older_than(previous or name)

    def _drop_older_than(self, keep_from: str) -> None:
        """Delete generations older than `keep_from` (the previous one stays for rollback)."""
        for path in self.dir.iterdir():
            if path.is_dir() and path.name < keep_from and path.name.startswith(self.alias):
                shutil.rmtree(path, ignore_errors=True)

    # -- writing ----------------------------------------------------------------------------
    def _get_writer(self) -> tantivy.IndexWriter:
        gen = self._current() or self._current_after_ensure()
        if self._writer is None or self._writer_gen != gen.name:
            self._writer = gen.index.writer(heap_size=UPDATE_HEAP, num_threads=1)
            self._writer_gen = gen.name
        return self._writer

    def _current_after_ensure(self) -> _Generation:
        self.ensure_index()
        gen = self._current()
        assert gen is not None
        return gen

    def _apply(self, writer: tantivy.IndexWriter, op: str, items: list) -> None:
        for item in items:
            doc_id = item.id if op == "index" else item
            # by query: delete_documents_by_term does not match unsigned fields (tantivy-py 0.27)
            writer.delete_documents_by_query(tantivy.Query.term_query(self.schema, "id", doc_id))
            if op == "index":
                writer.add_document(to_tantivy(item))

    def index(self, docs: Iterable[ProductDocument]) -> int:
        batch = list(docs)
        with self._write_lock:
            writer = self._get_writer()
            self._apply(writer, "index", batch)
            writer.commit()
            if self._journal is not None:
                self._journal.append(("index", batch))
        return len(batch)

    def delete(self, ids: Iterable[int]) -> int:
        batch = list(ids)
        with self._write_lock:
            writer = self._get_writer()
            self._apply(writer, "delete", batch)
            writer.commit()
            if self._journal is not None:
                self._journal.append(("delete", batch))
        return len(batch)

    def refresh(self) -> None:
        """See commits made by any process. tantivy replaces meta.json on every commit, so a
        stat of it tells whether a reload (which re-reads the segment list) is needed."""
        gen = self._current()
        if gen is None:
            return
        try:
            st = (self.dir / gen.name / "meta.json").stat()
        except FileNotFoundError:
            return
        sig = (gen.name, st.st_ino, st.st_mtime_ns, st.st_size)
        if sig != self._meta_sig:
            gen.index.reload()
            self._meta_sig = sig

    def rebuild(self, docs: Iterable[ProductDocument]) -> str:
        with self._write_lock:
            name = generation_name(self.alias)
            self.create_index(name)
            self._journal = []
        writer: tantivy.IndexWriter | None = None
        try:
            index = self._open(name)
            writer = index.writer(heap_size=REBUILD_HEAP, num_threads=0)
            n = 0
            for doc in docs:
                writer.add_document(to_tantivy(doc))
                n += 1
                if n % PROGRESS_EVERY == 0:
                    log.info("search rebuild %s: %d documents indexed", name, n)
            writer.commit()
            writer.wait_merging_threads()
            writer = None
            with self._write_lock:
                journal, self._journal = self._journal or [], None
                if journal:  # updates that arrived while we were filling the new generation
                    writer = index.writer(heap_size=UPDATE_HEAP, num_threads=1)
                    for op, items in journal:
                        self._apply(writer, op, items)
                    writer.commit()
                    writer.wait_merging_threads()
                    writer = None
                self.swap_alias(name)
            log.info("search rebuild %s: %d documents, alias %s swapped", name, n, self.alias)
            return name
        except BaseException:
            with self._write_lock:
                self._journal = None
            if writer is not None:  # stop its threads before removing the files under them
                writer.rollback()
                writer.wait_merging_threads()
            shutil.rmtree(self.dir / name, ignore_errors=True)
            raise

    def close(self) -> None:
        with self._write_lock:
            self._writer, self._writer_gen = None, None

    # -- reading ----------------------------------------------------------------------------
    def doc_count(self) -> int:
        gen = self._current()
        return gen.index.searcher().num_docs if gen else 0

    def _page(
        self, searcher: tantivy.Searcher, query: tantivy.Query, sq: SearchQuery, scored: bool
    ) -> tuple[list[tuple[float | None, tantivy.DocAddress]], int]:
        if not scored:
            sort = sq.sort if sq.sort is not SortOrder.relevance else SortOrder.popularity
            res = searcher.search(query, limit=sq.size, offset=sq.offset,
                                  order_by_field=sort_field(sort.value), order=tantivy.Order.Asc)
            return [(None, addr) for _, addr in res.hits], res.count or 0
        return relevance_page(searcher, query, sq.offset, sq.size)

    def search(self, query: SearchQuery) -> SearchResult:
        empty = SearchResult(hits=[], total=0, page=query.page, size=query.size)
        gen = self._current()
        if gen is None:
            return empty
        searcher = gen.index.searcher()
        text = self.builder.text(query.q, known=vocabulary(searcher)) if query.q else None
        if text is not None and text.query is None:
            return empty  # only punctuation, syntax characters or stop words
        full = self.builder.combine(text.query if text else None,
                                    self.builder.filters(query.filters))
        scored = text is not None and query.sort is SortOrder.relevance
        page, total = self._page(searcher, full, query, scored)
        facets = {}
        if query.facets:  # nothing to count without hits; parse_facets fills the empty scale
            raw = searcher.aggregate(full, aggregation_spec(query.facets, FACET_FIELDS)) \
                if total else {}
            facets = parse_facets(raw, query.facets)
        snippets = {}
        if query.highlight and text is not None and text.stems:
            snippets = {
                f: _snippet_generator(searcher, self.builder.highlight(text.stems, f),
                                      self.schema, f, chars)
                for f, chars in HIGHLIGHT_FIELDS.items()
            }
        hits = []
        for score, addr in page:
            stored = searcher.doc(addr)
            doc = ProductDocument.model_validate_json(stored.get_first("source"))
            marks = {}
            for f, gen_ in snippets.items():
                snippet = gen_.snippet_from_doc(stored)
                if snippet.highlighted():
                    marks[f] = snippet.to_html()
            hits.append(Hit(id=doc.id, score=score, document=doc, highlights=marks))
        suggestion = None
        if total == 0 and query.q:
            suggestion = relax(query, self.count, self.vocabulary_near)
        return SearchResult(hits=hits, total=total, page=query.page, size=query.size,
                            facets=facets, suggestion=suggestion)

    def count(self, query: SearchQuery) -> int:
        gen = self._current()
        if gen is None:
            return 0
        searcher = gen.index.searcher()
        text = self.builder.text(query.q, known=vocabulary(searcher)) if query.q else None
        if text is not None and text.query is None:
            return 0
        full = self.builder.combine(text.query if text else None,
                                    self.builder.filters(query.filters))
        return searcher.search(full, limit=1, count=True).count or 0

    def plain_bm25_ids(self, q: str, k: int = 10) -> list[int]:
        """Top-k ids for a plain BM25 query (relevance baseline; see search.relevance)."""
        gen = self._current()
        query = self.builder.plain_bm25(q)
        if gen is None or query is None:
            return []
        searcher = gen.index.searcher()
        hits = searcher.search(query, limit=k, count=False).hits
        return [int(v) for v in searcher.fast_field_values("id", [a for _, a in hits])]

    def vocabulary_near(self, word: str) -> list[tuple[str, int]]:
        gen = self._current()
        if gen is None or not word:
            return []
        return gen.index.searcher().terms_with_prefix("spell", word[:1], limit=5_000)

    def suggest(self, prefix: str, n: int = 8) -> list[str]:
        gen = self._current()
        typed = analysis.words(prefix)[: analysis.MAX_EDGE_GRAM]
        if gen is None or not typed or n <= 0:
            return []
        query = tantivy.Query.boolean_query([
            (tantivy.Occur.Must,
             tantivy.Query.term_query(self.schema, "title_ac", w[: analysis.MAX_EDGE_GRAM]))
            for w in typed
        ])
        searcher = gen.index.searcher()
        hits = searcher.search(query, limit=n * 4, count=False, weight_by_field="boost").hits
        seen: dict[str, str] = {}
        for _, addr in hits:
            title = searcher.doc(addr).get_first("title")
            seen.setdefault(title.casefold(), title)
            if len(seen) == n:
                break
        return list(seen.values())


def vocabulary(searcher: tantivy.Searcher) -> Callable[[str], bool]:
    """Is a (lowercased, unstemmed) word in the index? The "spell" field holds every word of
    titles, brands, categories and tags."""
    return lambda word: searcher.doc_freq("spell", word) > 0


def _snippet_generator(
    searcher: tantivy.Searcher, query: tantivy.Query, schema: tantivy.Schema, field: str,
    chars: int,
) -> tantivy.SnippetGenerator:
    gen = tantivy.SnippetGenerator.create(searcher, query, schema, field)
    gen.set_max_num_chars(chars)
    return gen


def relevance_page(
    searcher: tantivy.Searcher, query: tantivy.Query, offset: int, size: int
) -> tuple[list[tuple[float | None, tantivy.DocAddress]], int]:
    """One page by score (with the quality boost), ties broken by product id.

    tantivy breaks score ties by internal doc address, which changes when segments merge;
    fetching until the page boundary's score is passed and re-sorting by (score, id) makes
    pages stable. Exact ties are rare, so this usually costs one search with a few extra hits.
    """
    want = offset + size
    fetch = want + 8
    total = 0
    while True:
        res = searcher.search(query, limit=fetch, count=True, weight_by_field="boost")
        hits, total = res.hits, res.count or 0
        if len(hits) < fetch or hits[-1][0] < hits[want - 1][0]:
            break
        fetch *= 2
    ids = searcher.fast_field_values("id", [a for _, a in hits])
    ranked = sorted(zip(hits, ids, strict=True), key=lambda h: (-h[0][0], h[1]))
    return [(score, addr) for (score, addr), _ in ranked[offset:want]], total
