"""Behaviour every search backend must show, run against each engine present."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from search.backend import SearchBackend
from search.documents import build_document
from search.query import SearchFilters, SearchQuery
from tests.search.conftest import CATALOG, SOCK_IDS, catalog_docs

N = len(CATALOG)


def ids(backend: SearchBackend, q: str = "", **kw) -> list[int]:
    return [h.id for h in backend.search(SearchQuery(q=q, size=100, **kw)).hits]


def filtered(backend: SearchBackend, **filters) -> set[int]:
    return set(ids(backend, filters=SearchFilters(**filters)))


# -- full text -------------------------------------------------------------------------------
def test_title_match_ranks_first(backend: SearchBackend) -> None:
    assert ids(backend, "walnut coffee table")[0] == 5


def test_title_outranks_description_only_match(backend: SearchBackend) -> None:
    found = ids(backend, "coffee table")
    assert found.index(5) < found.index(11)


def test_brand_match_outranks_description_match(backend: SearchBackend) -> None:
    found = ids(backend, "apple")
    assert set(found[:2]) == {1, 10}
    assert 13 in found[2:]  # "apples" in the fruit basket's description, stemmed


def test_stemming_and_category_words(backend: SearchBackend) -> None:
    found = ids(backend, "shoe")
    assert found[:2] == [7, 8]  # title match before the boots found through their category


def test_ascii_folding(backend: SearchBackend) -> None:
    assert ids(backend, "creme brulee")[:1] == [9]
    assert ids(backend, "CRÈME")[:1] == [9]


@pytest.mark.parametrize(("q", "target"), [("iphnoe", 1), ("samsnug televsion", 3),
                                           ("sofx", 4), ("headphoens", 12)])
def test_typo_tolerance(backend: SearchBackend, q: str, target: int) -> None:
    assert ids(backend, q)[:1] == [target]


def test_short_words_need_an_exact_match(backend: SearchBackend) -> None:
    assert ids(backend, "oka") == []  # 3 letters: no fuzziness, so not "oak"


@pytest.mark.parametrize(("q", "expected"), [("couch", {4}), ("tv", {3}),
                                              ("cell phone", {1, 2}), ("notebook computer", {10})])
def test_synonyms(backend: SearchBackend, q: str, expected: set[int]) -> None:
    assert expected <= set(ids(backend, q)[: len(expected) + 1])


def test_sku_lookup(backend: SearchBackend) -> None:
    assert ids(backend, "sku-0006")[:1] == [6]


# -- filters ---------------------------------------------------------------------------------
def test_category_filter_matches_subtree(backend: SearchBackend) -> None:
    assert filtered(backend, category="electronics") == {1, 2, 3, 10, 12}
    assert filtered(backend, category="electronics/phones") == {1, 2}
    assert filtered(backend, category="electronics/phone") == set()  # no prefix-of-slug match


def test_brand_filter_is_case_insensitive(backend: SearchBackend) -> None:
    assert filtered(backend, brands=["samsung"]) == {2, 3}
    assert filtered(backend, brands=["Samsung", "Kairo"]) == {2, 3, 12}


def test_price_range_is_inclusive(backend: SearchBackend) -> None:
    assert filtered(backend, price_min=20_000, price_max=60_000) == {3, 5, 6, 11}
    assert filtered(backend, price_min=24_900, price_max=24_900) == {5}
    assert filtered(backend, price_max=999) == set(SOCK_IDS)


def test_rating_and_stock_filters(backend: SearchBackend) -> None:
    assert filtered(backend, min_rating=4.5) == {1, 4, 7, 10}
    assert 4 not in filtered(backend, in_stock=True)
    assert filtered(backend, in_stock=False) == {4}


def test_filters_combine_with_text(backend: SearchBackend) -> None:
    q = SearchQuery(q="table", filters=SearchFilters(category="furniture/dining"))
    assert [h.id for h in backend.search(q).hits] == [6]


# -- facets ----------------------------------------------------------------------------------
def test_facet_counts(backend: SearchBackend) -> None:
    r = backend.search(SearchQuery(facets=["brand", "category", "price", "rating"]))
    brands = {b.key: b.count for b in r.facets["brand"]}
    assert brands == {"Stride": 8, "Oakridge": 3, "Apple": 2, "Samsung": 2, "Nordhaven": 1,
                      "Lumen House": 1, "Kairo": 1, "Harvest Table": 1}
    assert [b.key for b in r.facets["brand"]][:2] == ["Stride", "Oakridge"]
    cats = {b.key: b.count for b in r.facets["category"]}
    assert cats["electronics"] == 5 and cats["electronics/phones"] == 2
    assert cats["furniture"] == 4 and cats["fashion/socks"] == 6
    price = {b.key: b.count for b in r.facets["price"]}
    assert price["0-10"] == 6 and price["10-25"] == 1 and price["1000+"] == 1
    assert sum(price.values()) == N
    rating = {b.key: b.count for b in r.facets["rating"]}
    assert rating == {"4+": 17, "3+": 19, "2+": 19, "1+": 19}


def test_facets_follow_the_query(backend: SearchBackend) -> None:
    r = backend.search(SearchQuery(q="oakridge", facets=["category"]))
    assert {b.key: b.count for b in r.facets["category"]} == {
        "furniture": 3, "furniture/living-room": 2, "furniture/dining": 1}


# -- sorting and paging ----------------------------------------------------------------------
def _expected(sort: str) -> list[int]:
    docs = catalog_docs()
    keys = {
        "price_asc": lambda d: (d.price_minor, d.id),
        "price_desc": lambda d: (-d.price_minor, d.id),
        "rating": lambda d: (-d.rating_avg, -d.rating_count, d.id),
        "popularity": lambda d: (-d.popularity, d.id),
        "newest": lambda d: (-d.created_at.timestamp(), d.id),
    }
    return [d.id for d in sorted(docs, key=keys[sort])]


@pytest.mark.parametrize("sort", ["price_asc", "price_desc", "rating", "popularity", "newest"])
def test_field_sorts_are_total_orders(backend: SearchBackend, sort: str) -> None:
    assert ids(backend, sort=sort) == _expected(sort)


@pytest.mark.parametrize("sort", ["relevance", "price_asc", "rating", "newest"])
def test_pagination_is_stable(backend: SearchBackend, sort: str) -> None:
    full = ids(backend, "stride", sort=sort)
    paged: list[int] = []
    for page in range(1, 5):
        paged += [h.id for h in backend.search(
            SearchQuery(q="stride", sort=sort, page=page, size=3)).hits]
    assert paged == full and len(full) == 8


def test_relevance_ties_break_on_id(backend: SearchBackend) -> None:
    pages = [[h.id for h in backend.search(SearchQuery(q="socks", page=p, size=4)).hits]
             for p in (1, 2)]
    assert pages == [SOCK_IDS[:4], SOCK_IDS[4:]]


def test_page_beyond_the_end_is_empty(backend: SearchBackend) -> None:
    r = backend.search(SearchQuery(page=50, size=20))
    assert r.hits == [] and r.total == N


def test_scores_only_for_relevance(backend: SearchBackend) -> None:
    assert all(h.score is not None for h in backend.search(SearchQuery(q="apple")).hits)
    assert all(h.score is None for h in backend.search(SearchQuery(q="apple", sort="newest")).hits)


# -- highlights, autocomplete, relaxation ----------------------------------------------------
def test_highlights(backend: SearchBackend) -> None:
    hit = backend.search(SearchQuery(q="walnut", highlight=True)).hits[0]
    assert hit.id == 5
    assert "<b>Walnut</b>" in hit.highlights["title"]
    assert "<b>walnut</b>" in hit.highlights["description"]
    assert backend.search(SearchQuery(q="walnut")).hits[0].highlights == {}


def test_highlights_escape_html(backend: SearchBackend) -> None:
    hit = backend.search(SearchQuery(q="cancelling", highlight=True)).hits[0]
    snippet = hit.highlights["description"]
    assert "<b>cancelling</b>" in snippet
    assert "&lt;b&gt;Bold" in snippet and "&amp;" in snippet


def test_autocomplete(backend: SearchBackend) -> None:
    assert backend.suggest("iph") == ["Apple iPhone 13 Pro"]
    assert set(backend.suggest("oak")) == {"Oakridge Walnut Coffee Table",
                                           "Oakridge Oak Dining Table", "Oakridge Walnut Bookcase"}
    assert backend.suggest("apple mac") == ["Apple MacBook Air Laptop"]
    assert backend.suggest("oak", n=1) and len(backend.suggest("oak", n=1)) == 1
    assert backend.suggest("stride ankle") == ["Stride Ankle Socks"]  # duplicates collapse
    assert backend.suggest("") == [] and backend.suggest('"*:(') == []


def test_no_results_offers_a_relaxed_query(backend: SearchBackend) -> None:
    r = backend.search(SearchQuery(q="walnut spaceship"))
    assert r.total == 0 and r.hits == []
    assert r.suggestion is not None and r.suggestion.q == "walnut" and r.suggestion.total == 2


def test_relaxation_corrects_spelling_beyond_fuzziness(backend: SearchBackend) -> None:
    r = backend.search(SearchQuery(q="televisionnnn"))
    assert r.total == 0
    assert r.suggestion is not None and r.suggestion.q == "television"


def test_hopeless_query_has_no_suggestion(backend: SearchBackend) -> None:
    r = backend.search(SearchQuery(q="qqqqzzzz"))
    assert r.total == 0 and r.suggestion is None


# -- bad input -------------------------------------------------------------------------------
def test_empty_query_browses_everything(backend: SearchBackend) -> None:
    assert backend.search(SearchQuery(q="   ")).total == N


@pytest.mark.parametrize("q", ['"', "*", ":", "AND", "(", "title:apple", 'apple AND ("',
                               "apple*", "-apple", "apple~2", "[1 TO 5]", "\\", "a" * 512])
def test_query_syntax_is_plain_text(backend: SearchBackend, q: str) -> None:
    r = backend.search(SearchQuery(q=q))
    assert r.total >= 0  # and no exception


def test_syntax_characters_do_not_change_meaning(backend: SearchBackend) -> None:
    assert ids(backend, 'apple AND ("')[:2] == ids(backend, "apple")[:2]


@pytest.mark.parametrize("bad", [
    {"q": "x" * 10_240},
    {"sort": "cheapest"},
    {"facets": ["colour"]},
    {"filters": {"price_min": 500, "price_max": 100}},
    {"filters": {"price_min": -1}},
    {"filters": {"category": "../etc"}},
    {"size": 0}, {"size": 101}, {"page": 0}, {"page": 10_000},
    {"unknown": 1},
])
def test_invalid_requests_are_rejected(bad: dict) -> None:
    with pytest.raises(ValidationError):
        SearchQuery.model_validate(bad)


# -- writes ----------------------------------------------------------------------------------
def test_delete(backend: SearchBackend) -> None:
    assert backend.delete([5, 999]) == 2
    backend.refresh()
    assert 5 not in ids(backend, "walnut coffee table")
    assert backend.doc_count() == N - 1


def test_update_replaces_by_id(backend: SearchBackend) -> None:
    changed = build_document({**CATALOG[4], "price_minor": 100, "title": "Oakridge Teak Table"})
    backend.index([changed])
    backend.refresh()
    assert backend.doc_count() == N
    hit = backend.search(SearchQuery(q="teak")).hits[0]
    assert hit.id == 5 and hit.document.price_minor == 100
    assert 5 not in ids(backend, "walnut coffee")


def test_index_creates_the_alias_on_first_write(empty_backend: SearchBackend) -> None:
    assert empty_backend.search(SearchQuery(q="apple")).total == 0
    empty_backend.index(catalog_docs()[:3])
    empty_backend.refresh()
    assert set(ids(empty_backend, "samsung")) == {2, 3}


def test_blue_green_rebuild_while_searching(backend: SearchBackend) -> None:
    before = backend.current_index()
    errors: list[BaseException] = []
    totals: set[int] = set()
    stop = threading.Event()

    def searcher() -> None:
        while not stop.is_set():
            try:
                totals.add(backend.search(SearchQuery(q="oakridge")).total)
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

    new = build_document({**CATALOG[5], "id": 99, "sku": "SKU-0099",
                          "title": "Oakridge Cedar Chest", "created_at": datetime.now(UTC)})
    thread = threading.Thread(target=searcher)
    thread.start()
    try:
        name = backend.rebuild([*catalog_docs(), new])
    finally:
        stop.set()
        thread.join()
    backend.refresh()
    assert errors == []
    assert totals <= {3, 4} and totals
    assert backend.current_index() == name != before
    assert 99 in ids(backend, "cedar chest")
