"""Reviews: one per user per product, edits, helpful votes, moderation, consistent ratings."""

from __future__ import annotations

import concurrent.futures

from tests.services.catalog.conftest import CatalogService
from tests.services.catalog.test_products import problem


def rating_of(catalog: CatalogService, pid: int) -> tuple[float, int]:
    product = catalog.http.get(f"/api/catalog/products/{pid}").json()
    return product["rating_avg"], product["rating_count"]


def review(catalog: CatalogService, pid: int, who: str, stars: int, **extra: object) -> dict:
    r = catalog.http.post(f"/api/catalog/products/{pid}/reviews", headers=catalog.user(who),
                          json={"rating": stars, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def test_one_review_per_user_edits_and_rating_aggregate(catalog: CatalogService) -> None:
    catalog.category("Books")
    pid = catalog.product("B-1", "books")["id"]
    ann = review(catalog, pid, "ann", 5, title="Great", body="Loved it")
    assert ann["reviewer_name"] == "ann" and ann["verified_purchase"] is False
    review(catalog, pid, "bob", 2, reviewer_name="Bob B.")
    assert rating_of(catalog, pid) == (3.5, 2)
    problem(catalog.http.post(f"/api/catalog/products/{pid}/reviews", headers=catalog.user("ann"),
                              json={"rating": 4}), 409, "review-exists")
    edited = catalog.http.patch(f"/api/catalog/reviews/{ann['id']}", headers=catalog.user("ann"),
                                json={"rating": 3, "body": "On reflection, fine"})
    assert edited.status_code == 200 and edited.json()["rating"] == 3
    assert rating_of(catalog, pid) == (2.5, 2)
    problem(catalog.http.patch(f"/api/catalog/reviews/{ann['id']}", headers=catalog.user("bob"),
                               json={"rating": 1}), 403, "forbidden")
    for bad in ({"rating": 0}, {"rating": 6}, {"rating": 4.5}, {"rating": 4, "x": 1},
                {"rating": 4, "body": "x" * 5001}):
        problem(catalog.http.post(f"/api/catalog/products/{pid}/reviews",
                                  headers=catalog.user("cat"), json=bad), 422, "validation-error")
    problem(catalog.http.post(f"/api/catalog/products/{pid}/reviews", json={"rating": 4}),
            401, "unauthorized")
    problem(catalog.http.post("/api/catalog/products/999/reviews", headers=catalog.user("cat"),
                              json={"rating": 4}), 404, "not-found")
    types = [e["type"] for e in catalog.events() if e["type"].startswith("review.")]
    assert types == ["review.submitted", "review.submitted", "review.updated"]
    last = catalog.events("review.updated")[0]["data"]
    assert (last["product_rating_avg"], last["product_rating_count"]) == (2.5, 2)

    assert catalog.http.delete(f"/api/catalog/reviews/{ann['id']}",
                               headers=catalog.user("ann")).status_code == 204
    assert rating_of(catalog, pid) == (2.0, 1)


def test_concurrent_reviews_keep_the_aggregate_exact(catalog: CatalogService) -> None:
    catalog.category("Books")
    pid = catalog.product("B-1", "books")["id"]

    def submit(i: int) -> int:
        return catalog.http.post(f"/api/catalog/products/{pid}/reviews",
                                 headers=catalog.user(f"u{i % 6}"),
                                 json={"rating": 1 + i % 5}).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(submit, range(12)))
    assert codes == [201] * 6 + [409] * 6
    reviews = catalog.http.get(f"/api/catalog/products/{pid}/reviews").json()
    stars = [r["rating"] for r in reviews["items"]]
    assert reviews["total"] == 6
    assert rating_of(catalog, pid) == (round(sum(stars) / 6, 2), 6)


def test_helpful_votes_are_one_per_user(catalog: CatalogService) -> None:
    catalog.category("Books")
    pid = catalog.product("B-1", "books")["id"]
    ann = review(catalog, pid, "ann", 4)
    url = f"/api/catalog/reviews/{ann['id']}/helpful"
    assert catalog.http.put(url, headers=catalog.user("bob")).json() == {
        "review_id": ann["id"], "helpful_count": 1, "voted": True}
    assert catalog.http.put(url, headers=catalog.user("bob")).json()["helpful_count"] == 1
    assert catalog.http.put(url, headers=catalog.user("cy")).json()["helpful_count"] == 2
    problem(catalog.http.put(url, headers=catalog.user("ann")), 403, "own-review")
    assert catalog.http.delete(url, headers=catalog.user("cy")).json()["helpful_count"] == 1
    assert len(catalog.events("review.helpful_voted")) == 3  # the repeat changed nothing
    dan = review(catalog, pid, "dan", 1)
    listed = catalog.http.get(f"/api/catalog/products/{pid}/reviews?order=helpful").json()
    assert [r["id"] for r in listed["items"]] == [ann["id"], dan["id"]]
    by_rating = catalog.http.get(f"/api/catalog/products/{pid}/reviews?order=rating_asc").json()
    assert [r["rating"] for r in by_rating["items"]] == [1, 4]
    problem(catalog.http.get(f"/api/catalog/products/{pid}/reviews?order=random"),
            422, "validation-error")


def test_moderation_hides_and_restores_with_the_rating(catalog: CatalogService) -> None:
    catalog.category("Books")
    pid = catalog.product("B-1", "books")["id"]
    spam = review(catalog, pid, "spammer", 1, body="buy cheap watches")
    review(catalog, pid, "ann", 5)
    assert rating_of(catalog, pid) == (3.0, 2)
    problem(catalog.http.post(f"/api/catalog/reviews/{spam['id']}/hide",
                              headers=catalog.user("ann")), 403, "forbidden")
    hidden = catalog.http.post(f"/api/catalog/reviews/{spam['id']}/hide", headers=catalog.admin,
                               json={"note": "spam"})
    assert hidden.status_code == 200 and hidden.json()["hidden"] is True
    assert rating_of(catalog, pid) == (5.0, 1)
    listed = catalog.http.get(f"/api/catalog/products/{pid}/reviews").json()
    assert [r["reviewer_name"] for r in listed["items"]] == ["ann"]
    queue = catalog.http.get("/api/catalog/reviews/hidden", headers=catalog.admin)
    assert [r["id"] for r in queue.json()["items"]] == [spam["id"]]
    assert "no-store" in queue.headers["cache-control"]
    problem(catalog.http.get("/api/catalog/reviews/hidden", headers=catalog.user("ann")),
            403, "forbidden")
    problem(catalog.http.put(f"/api/catalog/reviews/{spam['id']}/helpful",
                             headers=catalog.user("bob")), 404, "not-found")
    catalog.http.post(f"/api/catalog/reviews/{spam['id']}/restore", headers=catalog.admin)
    assert rating_of(catalog, pid) == (3.0, 2)
    moderated = [e["data"]["hidden"] for e in catalog.events("review.moderated")]
    assert moderated == [True, False]
