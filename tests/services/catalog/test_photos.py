"""Photo uploads: content checks, size caps, re-encoding, thumbnails, static serving."""

from __future__ import annotations

import io

from PIL import Image

from tests.services.catalog.conftest import CatalogService, image_bytes
from tests.services.catalog.test_products import problem


def upload(catalog: CatalogService, pid: int, data: bytes, name: str = "p.png",
           content_type: str = "image/png", **form: str):  # type: ignore[no-untyped-def]
    return catalog.http.post(f"/api/catalog/products/{pid}/photos", headers=catalog.admin,
                             files={"file": (name, data, content_type)}, data=form)


def test_upload_stores_reencoded_photo_and_thumbnail_served_as_static_files(
    catalog: CatalogService,
) -> None:
    catalog.category("Art")
    pid = catalog.product("A-1", "art")["id"]
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # camera make: must not survive re-encoding
    raw = io.BytesIO()
    Image.new("RGB", (1200, 800), "blue").save(raw, "JPEG", exif=exif)
    r = upload(catalog, pid, raw.getvalue(), "x.jpg", "image/jpeg", alt_text="Blue canvas")
    assert r.status_code == 201, r.text
    photo = r.json()
    assert (photo["content_type"], photo["width"], photo["height"]) == ("image/jpeg", 1200, 800)
    assert photo["alt_text"] == "Blue canvas" and photo["position"] == 0
    served = catalog.http.get(photo["url"])
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert "immutable" in served.headers["cache-control"]
    stored = Image.open(io.BytesIO(served.content))
    assert "SecretCam" not in str(dict(stored.getexif()))
    thumb = Image.open(io.BytesIO(catalog.http.get(photo["thumbnail_url"]).content))
    assert thumb.format == "WEBP" and max(thumb.size) == 320

    second = upload(catalog, pid, image_bytes("WEBP"), "y.webp", "image/webp").json()
    assert second["position"] == 1 and second["content_type"] == "image/webp"
    detail = catalog.http.get(f"/api/catalog/products/{pid}").json()
    assert [p["id"] for p in detail["photos"]] == [photo["id"], second["id"]]
    moved = catalog.http.patch(f"/api/catalog/products/{pid}/photos/{second['id']}",
                               headers=catalog.admin, json={"position": 0, "alt_text": "front"})
    assert moved.status_code == 200
    detail = catalog.http.get(f"/api/catalog/products/{pid}").json()
    assert detail["photos"][0]["id"] == second["id"]
    assert len(catalog.events("catalog.product_updated")) == 3  # two uploads, one reorder

    assert catalog.http.delete(f"/api/catalog/products/{pid}/photos/{photo['id']}",
                               headers=catalog.admin).status_code == 204
    assert catalog.http.get(photo["url"]).status_code == 404
    assert catalog.http.get(photo["thumbnail_url"]).status_code == 404


def test_bad_uploads_are_refused_and_store_nothing(make_catalog) -> None:  # type: ignore[no-untyped-def]
    catalog: CatalogService = make_catalog(photo_max_bytes=50_000, photo_max_pixels=1_000_000)
    catalog.category("Art")
    pid = catalog.product("A-1", "art")["id"]
    problem(upload(catalog, pid, b"%PDF-1.4 not an image", "x.png"), 415, "unsupported-image")
    problem(upload(catalog, pid, b"", "x.png"), 415, "unsupported-image")
    gif = io.BytesIO()
    Image.new("P", (10, 10)).save(gif, "GIF")
    problem(upload(catalog, pid, gif.getvalue(), "x.png", "image/png"), 415, "unsupported-image")
    truncated = image_bytes("PNG", (300, 300))[:200]
    problem(upload(catalog, pid, truncated, "x.png"), 415, "unsupported-image")
    problem(upload(catalog, pid, b"x" * 60_000, "big.png"), 413, "photo-too-large")
    problem(upload(catalog, pid, image_bytes("PNG", (2000, 1000)), "wide.png"),
            413, "photo-too-large")  # 2 MP > 1 MP cap, though the file is small
    oversized_body = catalog.http.post(f"/api/catalog/products/{pid}/photos",
                                       headers={**catalog.admin, "content-type": "image/png"},
                                       content=b"x" * (catalog.settings.max_body_bytes + 1))
    problem(oversized_body, 413, "payload-too-large")
    problem(catalog.http.post(f"/api/catalog/products/{pid}/photos", headers=catalog.admin,
                              json={"file": "nope"}), 422, "validation-error")
    problem(upload(catalog, 999_999, image_bytes(), "x.png"), 404, "not-found")
    r = catalog.http.post(f"/api/catalog/products/{pid}/photos", headers=catalog.user("eve"),
                          files={"file": ("x.png", image_bytes(), "image/png")})
    problem(r, 403, "forbidden")
    assert catalog.http.get(f"/api/catalog/products/{pid}").json()["photos"] == []
    assert not any(catalog.settings.photos_dir.rglob("*.*"))
    assert catalog.events("catalog.product_updated") == []
