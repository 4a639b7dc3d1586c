"""Fixtures for the search tests: a small hand-made catalog whose right answers are known,
and one backend fixture parametrised over every engine present."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from search.backend import SearchBackend
from search.documents import ProductDocument, build_document

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _p(pid: int, title: str, brand: str | None, category: str, price: int, rating: float,
       count: int, *, description: str = "", stock: int = 10, days: int = 0,
       popularity: float | None = None) -> dict[str, Any]:
    return {
        "id": pid, "sku": f"SKU-{pid:04d}", "title": title, "brand": brand,
        "category": category, "price_minor": price, "rating_avg": rating,
        "rating_count": count, "description": description, "stock": stock,
        "created_at": T0 + timedelta(days=days if days else pid), "popularity": popularity,
    }


CATALOG: list[dict[str, Any]] = [
    _p(1, "Apple iPhone 13 Pro", "Apple", "electronics/phones", 99_900, 4.6, 120,
       description="A smartphone with a triple camera and an all-day battery."),
    _p(2, "Samsung Galaxy S21 Smartphone", "Samsung", "electronics/phones", 79_900, 4.3, 80,
       description="Android phone with a bright display."),
    _p(3, "Samsung 55 inch Television", "Samsung", "electronics/tv", 59_900, 4.1, 40,
       description="Crisp 4K picture and smart apps."),
    _p(4, "Nordhaven Velvet Sofa", "Nordhaven", "furniture/living-room", 89_900, 4.8, 15,
       description="Deep seats and a kiln-dried frame.", stock=0),
    _p(5, "Oakridge Walnut Coffee Table", "Oakridge", "furniture/living-room", 24_900, 3.9, 30,
       description="Solid walnut with a lift top."),
    _p(6, "Oakridge Oak Dining Table", "Oakridge", "furniture/dining", 54_900, 4.2, 10,
       description="Seats six."),
    _p(7, "Stride Running Shoes", "Stride", "fashion/shoes", 11_000, 4.5, 300,
       description="Cushioned sole and breathable upper."),
    _p(8, "Stride Leather Boots", "Stride", "fashion/shoes", 16_000, 3.5, 12,
       description="Lace-up boots with a lug sole."),
    _p(9, "Crème Brûlée Scented Candle", "Lumen House", "home-decor/candles", 1_999, 4.0, 5,
       description="Warm vanilla notes."),
    _p(10, "Apple MacBook Air Laptop", "Apple", "electronics/computers", 119_900, 4.7, 200,
       description="Thin and light notebook computer."),
    _p(11, "Oakridge Walnut Bookcase", "Oakridge", "furniture/living-room", 21_000, 4.0, 8,
       description="Five shelves; pairs well with our coffee table collection."),
    _p(12, "Kairo Wireless Headphones", "Kairo", "electronics/audio", 16_000, 4.4, 60,
       description="Noise cancelling over-ear headphones. <b>Bold</b> & clear sound."),
    _p(13, "Harvest Table Fruit Basket", "Harvest Table", "grocery/fresh", 3_500, 4.2, 20,
       description="Crisp apples, pears and oranges."),
    *[
        _p(pid, "Stride Ankle Socks", "Stride", "fashion/socks", 900, 4.0, 10, days=30,
           popularity=2.0)
        for pid in range(14, 20)
    ],
]
SOCK_IDS = list(range(14, 20))


def catalog_docs() -> list[ProductDocument]:
    return [build_document(p) for p in CATALOG]


def _tantivy(tmp: Path) -> SearchBackend:
    from search.tantivy_backend import TantivyBackend

    return TantivyBackend(tmp / "search")


def _opensearch(tmp: Path) -> SearchBackend:
    from search.opensearch_backend import OpenSearchBackend

    url = os.environ.get("OPENSEARCH_URL")
    if not url:
        pytest.skip("OPENSEARCH_URL is not set: the OpenSearch contract run needs a server")
    backend = OpenSearchBackend(url, alias=f"test-products-{tmp.name.lower()}")
    backend.ping()
    return backend


ENGINES = {"tantivy": _tantivy, "opensearch": _opensearch}


@pytest.fixture(params=list(ENGINES))
def empty_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchBackend]:
    backend = ENGINES[request.param](tmp_path)
    yield backend
    backend.close()
    if request.param == "opensearch":
        backend.client.indices.delete(index=f"{backend.alias}-*")  # type: ignore[attr-defined]


@pytest.fixture
def backend(empty_backend: SearchBackend) -> SearchBackend:
    empty_backend.rebuild(catalog_docs())
    empty_backend.refresh()
    return empty_backend
