"""Profile and address book over HTTP; nobody reads anybody else's data."""

from __future__ import annotations

from tests.services.users.conftest import UsersService
from tests.services.users.test_accounts import problem

HOME = {"recipient": "Ann Lee", "line1": "1 Main St", "city": "Paris", "postcode": "75001",
        "country": "FR"}


def test_profile_partial_update(users: UsersService) -> None:
    users.register("ann@example.com", full_name="Ann")
    auth = users.auth("ann@example.com")
    r = users.http.patch("/api/users/me", headers=auth, json={"phone": "+33 1 23 45 67 89"})
    assert r.status_code == 200
    assert r.json()["full_name"] == "Ann" and r.json()["phone"] == "+33 1 23 45 67 89"
    assert users.events("user.profile_updated")[-1]["data"]["fields"] == ["phone"]
    problem(users.http.patch("/api/users/me", headers=auth, json={"email": "x@example.com"}),
            422, "validation-error")
    problem(users.http.patch("/api/users/me", headers=auth, json={"locale": "xx"}),
            422, "validation-error")


def test_address_book_with_one_default(users: UsersService) -> None:
    users.register("bea@example.com")
    auth = users.auth("bea@example.com")
    first = users.http.post("/api/users/me/addresses", headers=auth, json=HOME).json()
    assert first["is_default"] is True
    second = users.http.post("/api/users/me/addresses", headers=auth,
                             json={**HOME, "line1": "2 Side St", "is_default": True}).json()
    listed = users.http.get("/api/users/me/addresses", headers=auth).json()
    assert listed["total"] == 2
    assert {a["id"]: a["is_default"] for a in listed["items"]} == {first["id"]: False, second["id"]: True}
    r = users.http.patch(f"/api/users/me/addresses/{first['id']}", headers=auth,
                         json={"city": "Lyon", "is_default": True})
    assert r.json()["city"] == "Lyon" and r.json()["is_default"] is True
    assert users.http.delete(f"/api/users/me/addresses/{first['id']}", headers=auth).status_code == 204
    remaining = users.http.get("/api/users/me/addresses", headers=auth).json()["items"]
    assert [(a["id"], a["is_default"]) for a in remaining] == [(second["id"], True)]


def test_invalid_addresses_are_refused(users: UsersService) -> None:
    users.register("cal@example.com")
    auth = users.auth("cal@example.com")
    for bad in ({**HOME, "country": "France"}, {**HOME, "postcode": "!"}, {"recipient": "x"},
                {**HOME, "city": ""}):
        problem(users.http.post("/api/users/me/addresses", headers=auth, json=bad), 422,
                "validation-error")
    assert users.http.get("/api/users/me/addresses", headers=auth).json()["total"] == 0
    problem(users.http.get("/api/users/me/addresses/not-a-real-id", headers=auth), 404, "not-found")


def test_users_cannot_read_each_other(users: UsersService) -> None:
    ann = users.register("ann@example.com")
    users.register("bob@example.com")
    ann_auth, bob_auth = users.auth("ann@example.com"), users.auth("bob@example.com")
    address = users.http.post("/api/users/me/addresses", headers=ann_auth, json=HOME).json()
    problem(users.http.get(f"/api/users/{ann['id']}", headers=bob_auth), 403, "forbidden")
    for method in ("get", "delete"):
        r = getattr(users.http, method)(f"/api/users/me/addresses/{address['id']}", headers=bob_auth)
        problem(r, 404, "not-found")
    problem(users.http.patch(f"/api/users/me/addresses/{address['id']}", headers=bob_auth,
                             json={"city": "Evil"}), 404, "not-found")
    assert users.http.get(f"/api/users/me/addresses/{address['id']}",
                          headers=ann_auth).json()["city"] == "Paris"
    problem(users.http.get("/api/users", headers=bob_auth), 403, "forbidden")


def test_admin_reads_and_manages_users(users: UsersService) -> None:
    bob = users.register("bob@example.com")
    users.app.state.accounts.create_admin(email="root@example.com", password="admin password is long")
    admin = users.auth("root@example.com", "admin password is long")
    listing = users.http.get("/api/users", headers=admin).json()
    assert listing["total"] == 2
    assert users.http.get(f"/api/users/{bob['id']}", headers=admin).json()["email"] == "bob@example.com"
    r = users.http.put(f"/api/users/{bob['id']}/roles", headers=admin, json={"roles": ["customer", "root"]})
    problem(r, 422, "validation-error")
    r = users.http.put(f"/api/users/{bob['id']}/roles", headers=admin, json={"roles": ["admin", "customer"]})
    assert r.json()["roles"] == ["admin", "customer"]
