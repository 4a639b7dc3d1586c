"""Categories and products over HTTP: admin CRUD, events in the outbox, validation, counts."""

from __future__ import annotations

from typing import Any

from tests.services.catalog.conftest import CatalogService


def problem(r: Any, status: int, slug: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"].endswith("/" + slug), body
    return body


def test_category_tree_with_subtree_product_counts(catalog: CatalogService) -> None:
    root = catalog.category("Home & Kitchen")
    assert root["path"] == "home-kitchen" and root["depth"] == 1
    knives = catalog.category("Knives", parent="home-kitchen")
    assert knives["path"] == "home-kitchen/knives" and knives["parent_path"] == "home-kitchen"
    catalog.category("Pans", parent="home-kitchen", slug="pans-and-pots")
    catalog.product("K-1", "home-kitchen/knives")
    catalog.product("K-2", "home-kitchen/knives")
    catalog.product("P-1", "home-kitchen/pans-and-pots")
    items = {c["path"]: c for c in catalog.http.get("/api/catalog/categories").json()["items"]}
    assert {p: c["product_count"] for p, c in items.items()} == {
        "home-kitchen": 3, "home-kitchen/knives": 2, "home-kitchen/pans-and-pots": 1}
    one = catalog.http.get("/api/catalog/categories/home-kitchen/knives").json()
    assert one["product_count"] == 2 and one["name"] == "Knives"
    problem(catalog.http.post("/api/catalog/categories", headers=catalog.admin,
                              json={"name": "Knives", "parent": "home-kitchen"}),
            409, "category-exists")
    problem(catalog.http.post("/api/catalog/categories", headers=catalog.admin,
                              json={"name": "X", "parent": "nowhere"}), 422, "unknown-category")
    problem(catalog.http.delete("/api/catalog/categories/home-kitchen", headers=catalog.admin),
            409, "category-not-empty")
    renamed = catalog.http.patch("/api/catalog/categories/home-kitchen/knives",
                                 headers=catalog.admin, json={"name": "Kitchen Knives"})
    assert renamed.json()["name"] == "Kitchen Knives" and renamed.json()["path"] == \
        "home-kitchen/knives"
    empty = catalog.category("Empty")
    assert catalog.http.delete(f"/api/catalog/categories/{empty['path']}",
                               headers=catalog.admin).status_code == 204
    problem(catalog.http.get("/api/catalog/categories/empty"), 404, "not-found")


def test_product_crud_publishes_events_with_full_state(catalog: CatalogService) -> None:
    catalog.category("Electronics")
    catalog.category("Phones", parent="electronics")
    created = catalog.product("PH-1", "electronics/phones", brand="Apple", title="iPhone 9",
                              attributes={"colour": "black", "storage_gb": 64, "5g": False},
                              tags=["phone"])
    assert created["category"] == {"path": "electronics/phones",
                                   "names": ["Electronics", "Phones"]}
    assert created["availability"] == {"status": "unknown", "available": None, "as_of": None}
    assert created["rating_avg"] == 0 and created["photos"] == []
    pid = created["id"]
    [event] = catalog.events("catalog.product_created")
    assert event["subject"] == str(pid)
    assert event["data"] == {"product_id": str(pid), "sku": "PH-1", "title": "iPhone 9",
                             "brand": "Apple", "category_path": ["electronics", "phones"],
                             "price_minor": 1999, "currency": "USD"}

    r = catalog.http.patch(f"/api/catalog/products/{pid}", headers=catalog.admin,
                           json={"price_minor": 54900, "title": "iPhone 9 Pro"})
    assert r.status_code == 200 and r.json()["price_minor"] == 54900
    assert r.json()["attributes"] == {"colour": "black", "storage_gb": 64, "5g": False}
    [updated] = catalog.events("catalog.product_updated")
    assert updated["data"]["price_minor"] == 54900 and updated["data"]["title"] == "iPhone 9 Pro"

    assert catalog.http.get(f"/api/catalog/products/{pid}").json()["title"] == "iPhone 9 Pro"
    assert catalog.http.delete(f"/api/catalog/products/{pid}",
                               headers=catalog.admin).status_code == 204
    [deleted] = catalog.events("catalog.product_deleted")
    assert deleted["data"] == {"product_id": str(pid), "sku": "PH-1"}
    problem(catalog.http.get(f"/api/catalog/products/{pid}"), 404, "not-found")
    problem(catalog.http.delete(f"/api/catalog/products/{pid}", headers=catalog.admin),
            404, "not-found")


def test_writes_need_an_admin_and_bad_input_writes_nothing(catalog: CatalogService) -> None:
    catalog.category("Toys")
    body = {"sku": "T-1", "title": "Ball", "category": "toys", "price_minor": 500}
    problem(catalog.http.post("/api/catalog/products", json=body), 401, "unauthorized")
    problem(catalog.http.post("/api/catalog/products", json=body, headers=catalog.user("ann")),
            403, "forbidden")
    bad_bodies = [
        {**body, "price_minor": -1},
        {**body, "price_minor": 9.99},
        {**body, "currency": "usd"},
        {**body, "sku": "has space"},
        {**body, "title": ""},
        {**body, "surprise": 1},
        {**body, "attributes": {"nested": {"no": 1}}},
    ]
    for bad in bad_bodies:
        problem(catalog.http.post("/api/catalog/products", json=bad, headers=catalog.admin),
                422, "validation-error")
    problem(catalog.http.post("/api/catalog/products", headers=catalog.admin,
                              json={**body, "category": "toys/missing"}), 422, "unknown-category")
    catalog.product("T-1", "toys")
    problem(catalog.http.post("/api/catalog/products", json=body, headers=catalog.admin),
            409, "sku-taken")
    other = catalog.product("T-2", "toys")
    problem(catalog.http.patch(f"/api/catalog/products/{other['id']}", headers=catalog.admin,
                               json={"sku": "T-1"}), 409, "sku-taken")
    problem(catalog.http.patch(f"/api/catalog/products/{other['id']}", headers=catalog.admin,
                               json={"title": None}), 422, "validation-error")
    for bad_id in ("abc", "0", "99999999999999999999"):
        r = catalog.http.get(f"/api/catalog/products/{bad_id}")
        assert r.status_code == 422, r.text
    problem(catalog.http.get("/api/catalog/products/12345"), 404, "not-found")
    assert len(catalog.events("catalog.product_created")) == 2
    assert catalog.events("catalog.product_updated") == []


def test_openapi_documents_search_parameters_and_uploads(catalog: CatalogService) -> None:
    spec = catalog.http.get("/openapi.json").json()
    params = {p["name"] for p in spec["paths"]["/api/catalog/search"]["get"]["parameters"]}
    assert {"q", "category", "brand", "price_min", "price_max", "min_rating", "in_stock", "sort",
            "facets", "page", "size", "highlight"} <= params
    upload = spec["paths"]["/api/catalog/products/{product_id}/photos"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
