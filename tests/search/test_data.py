"""Documents, the demo catalog loader, the generator, synonyms and relaxation helpers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from search.analysis import terms
from search.demo_catalog import CATEGORY_TREE, load_dummyjson
from search.documents import build_document, category_paths
from search.generator import LEAVES, generate_products
from search.ranking import MAX_BOOST, boost_signal, fuzzy_distance, minimum_should_match
from search.relax import closest_word, plain_words
from search.synonyms import Synonyms


def test_build_document_derives_fields() -> None:
    doc = build_document({"id": 1, "sku": "A", "title": "T", "category": "a/b-c",
                          "price_minor": 100, "stock": 0, "rating_avg": 4.0,
                          "rating_count": 10, "created_at": datetime(2024, 1, 1)})
    assert doc.category_path == ["a", "b-c"] and doc.category == "b-c"
    assert doc.in_stock is False and doc.popularity == 8.0
    assert doc.created_at.tzinfo is UTC
    assert category_paths(doc.category_path) == ["a", "a/b-c"]


@pytest.mark.parametrize("bad", [{"price_minor": -1}, {"category": "Bad Slug"},
                                 {"currency": "usd"}, {"rating_avg": 5.5}, {"id": 0}])
def test_build_document_rejects_bad_products(bad: dict) -> None:
    base = {"id": 1, "sku": "A", "title": "T", "category": "a", "price_minor": 1,
            "created_at": datetime(2024, 1, 1, tzinfo=UTC)}
    with pytest.raises(ValidationError):
        build_document({**base, **bad})


def test_dummyjson_catalog_loads_completely() -> None:
    products = load_dummyjson()
    docs = [build_document(p) for p in products]
    assert len(docs) == 194
    assert {d.category_path[0] for d in docs} == set(CATEGORY_TREE)
    assert len({d.category for d in docs}) == 24
    iphone = next(d for d in docs if d.title == "iPhone 5s")
    assert iphone.brand == "Apple" and iphone.price_minor == 19_999
    assert iphone.category_path == ["electronics", "smartphones"]
    first = products[0]
    assert first["rating_count"] == len(first["reviews"]) == 3
    assert first["rating_avg"] == round(sum(r["rating"] for r in first["reviews"]) / 3, 2)
    assert first["images"] and first["thumbnail_url"]


def test_generator_is_deterministic_and_prefix_stable() -> None:
    a = list(generate_products(300, seed=7))
    assert a == list(generate_products(300, seed=7))
    assert a[:100] == list(generate_products(100, seed=7))
    assert a != list(generate_products(300, seed=8))
    assert [p["id"] for p in generate_products(3, start_id=1000)] == [1000, 1001, 1002]


def test_generator_products_are_valid_and_varied() -> None:
    docs = [build_document(p) for p in generate_products(2_000)]
    assert len({d.sku for d in docs}) == 2_000
    assert len({d.category_key for d in docs}) == len(LEAVES)
    assert len({d.brand for d in docs}) > 30
    assert len({d.title for d in docs}) > 1_500
    assert 0.03 < sum(not d.in_stock for d in docs) / len(docs) < 0.15
    prices = sorted(d.price_minor for d in docs)
    assert prices[0] < 1_000 and prices[-1] > 100_000
    rated = [d for d in docs if d.rating_count]
    assert 0.2 < len(rated) / len(docs) < 0.8 and max(d.rating_count for d in docs) > 100


def test_ranking_policy() -> None:
    assert [fuzzy_distance(t) for t in ("tv", "oak", "sofa", "walnuts", "headphon")] == [
        0, 0, 1, 1, 2]
    assert [minimum_should_match(n) for n in (1, 2, 3, 4, 5, 8)] == [1, 2, 2, 3, 4, 6]
    docs = [build_document(p) for p in generate_products(200)]
    assert all(0 <= boost_signal(d) <= MAX_BOOST for d in docs)


def test_synonyms_match_longest_phrase_on_stems() -> None:
    syn = Synonyms.parse(["phone, mobile phone, cell phone", "tablet => ipad"], terms)
    groups = syn.expand(terms("cheap mobile phones"))
    assert [[" ".join(t.stem for t in alt) for alt in g.alternatives] for g in groups] == [
        ["cheap"], ["mobil phone", "phone", "cell phone"]]
    assert len(syn.expand(terms("ipad"))[0].alternatives) == 1  # one-way rule
    assert len(syn.expand(terms("tablets"))[0].alternatives) == 2


def test_relaxation_helpers() -> None:
    assert plain_words('Crème "brûlée" AND (x*)') == ["creme", "brulee", "and", "x"]
    assert closest_word("televisoin", [("television", 3), ("telescope", 9)]) == "television"
    assert closest_word("zzzz", [("sofa", 3)]) is None
