"""`shop seed`: the DummyJSON demo catalog and the generated one, read back over HTTP."""

from __future__ import annotations

import pytest

from search.demo_catalog import load_dummyjson
from search.generator import generate_products
from services.catalog import seed
from tests.services.catalog.conftest import CatalogService


def test_demo_catalog_with_reviews_photos_and_index(
    catalog: CatalogService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(seed, "DEMO_PHOTOS_PER_PRODUCT", 1)  # rendering is the slow part...
    photos = catalog.settings.sqlalchemy_url.startswith("sqlite")  # ...and not database-specific
    report = seed.run(catalog.settings, products=None, photos=photos, progress=lambda _: None)
    demo = load_dummyjson()
    assert (report.products, report.categories, report.photos) == (194, 31, 194 * photos)
    pairs = {(p["sku"], r["reviewer_email"]) for p in demo for r in p["reviews"]}
    assert report.reviews == len(pairs)
    assert len(catalog.events("catalog.product_created")) == 194
    assert len(catalog.events("review.submitted")) == report.reviews

    hit = catalog.http.get("/api/catalog/search", params={"q": "mascara lash"}).json()["items"][0]
    assert hit["title"] == "Essence Mascara Lash Princess"
    assert bool(hit["thumbnail_url"]) is photos
    detail = catalog.http.get(f"/api/catalog/products/{hit['id']}").json()
    last_per_reviewer = {r["reviewer_email"]: r["rating"] for r in demo[0]["reviews"]}
    stars = list(last_per_reviewer.values())  # one review per user: a repeat replaces the first
    assert detail["rating_count"] == len(stars)
    assert detail["rating_avg"] == round(sum(stars) / len(stars), 2)
    assert detail["availability"]["available"] == demo[0]["stock"]
    if photos:
        assert catalog.http.get(detail["photos"][0]["url"]).headers["content-type"] == "image/jpeg"
    reviews = catalog.http.get(f"/api/catalog/products/{hit['id']}/reviews").json()
    assert {r["reviewer_name"] for r in reviews["items"]} == {
        r["reviewer_name"] for r in demo[0]["reviews"]}
    beauty = catalog.http.get("/api/catalog/categories/beauty-and-health").json()
    assert beauty["product_count"] == sum(p["category_path"][0] == "beauty-and-health"
                                          for p in demo)

    again = seed.run(catalog.settings, products=None, progress=lambda _: None)
    assert (again.products, again.skipped, again.reviews) == (0, 194, 0)


def test_generated_catalog_is_deterministic_and_keeps_imported_ratings(
    catalog: CatalogService,
) -> None:
    report = seed.run(catalog.settings, products=300, progress=lambda _: None)
    assert report.products == 300 and report.reviews == 0
    expected = list(generate_products(300))
    browse = catalog.http.get("/api/catalog/products",
                              params={"sort": "price_desc", "size": 5}).json()
    assert browse["total"] == 300
    top = sorted(expected, key=lambda p: -p["price_minor"])[0]
    assert browse["items"][0]["sku"] == top["sku"]
    rated = next(p for p in expected if p["rating_count"] >= 3)
    pid = catalog.http.get("/api/catalog/search",
                           params={"q": rated["title"]}).json()["items"][0]["id"]
    detail = catalog.http.get(f"/api/catalog/products/{pid}").json()
    assert detail["sku"] == rated["sku"] and detail["rating_count"] == rated["rating_count"]
    baseline = round(rated["rating_avg"] * rated["rating_count"])
    catalog.http.post(f"/api/catalog/products/{pid}/reviews", headers=catalog.user("ann"),
                      json={"rating": 1})
    after = catalog.http.get(f"/api/catalog/products/{pid}").json()
    assert after["rating_count"] == rated["rating_count"] + 1
    assert after["rating_avg"] == round((baseline + 1) / (rated["rating_count"] + 1), 2)
