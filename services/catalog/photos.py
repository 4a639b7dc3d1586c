"""Product photos: verify uploads with Pillow, re-encode them, make thumbnails, store the files.

Uploads are never stored as sent: the bytes must decode as JPEG, PNG or WebP (by content, not by
name or declared type), within size and pixel caps (a tiny file can declare a gigantic canvas).
Re-encoding drops EXIF (GPS positions of a phone photo) and anything smuggled after the image
data. Files are named by a random id and never change, so they are served as immutable.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from services.platform.errors import Problem

FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"),
           "WEBP": ("webp", "image/webp")}
THUMB_EXT, THUMB_TYPE = "webp", "image/webp"


class PhotoTooLarge(Problem):
    status, slug, title = 413, "photo-too-large", "Photo too large"


class NotAnImage(Problem):
    status, slug, title = 415, "unsupported-image", "Unsupported image"


@dataclass(frozen=True)
class ProcessedPhoto:
    image: bytes
    thumbnail: bytes
    ext: str
    content_type: str
    width: int
    height: int


def _open_checked(data: bytes, *, max_bytes: int, max_pixels: int) -> Image.Image:
    if len(data) > max_bytes:
        raise PhotoTooLarge(f"The photo is {len(data)} bytes; the limit is {max_bytes} bytes.")
    if not data:
        raise NotAnImage("The upload is empty.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            if probe.format not in FORMATS:
                raise NotAnImage(f"{probe.format} images are not accepted; use JPEG, PNG or WebP.")
            if probe.width * probe.height > max_pixels:
                raise PhotoTooLarge(
                    f"The photo is {probe.width}x{probe.height} pixels; the limit is "
                    f"{max_pixels} pixels.")
            probe.verify()  # structure and checksums; the image must be reopened after this
            image = Image.open(io.BytesIO(data))
            image.load()
    except Problem:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning,
            OSError, SyntaxError, ValueError) as exc:
        raise NotAnImage("The upload is not a readable JPEG, PNG or WebP image.") from exc
    return image


def process_upload(
    data: bytes, *, max_bytes: int, max_pixels: int, max_side: int, thumb_side: int
) -> ProcessedPhoto:
    image = _open_checked(data, max_bytes=max_bytes, max_pixels=max_pixels)
    ext, content_type = FORMATS[image.format or ""]
    fmt = image.format or "JPEG"
    image = ImageOps.exif_transpose(image)
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    image.thumbnail((max_side, max_side))
    main = _encode(image, fmt)
    thumb = image.copy()
    thumb.thumbnail((thumb_side, thumb_side))
    return ProcessedPhoto(main, _encode(thumb, "WEBP"), ext, content_type, image.width,
                          image.height)


def _encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        image.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    elif fmt == "PNG":
        image.save(out, "PNG", optimize=False)
    else:
        image.save(out, "WEBP", quality=82, method=3)
    return out.getvalue()


class PhotoFiles:
    """Photo files under one folder: `<product_id>/<uuid>.<ext>` plus `...-thumb.webp`."""

    def __init__(self, root: Path):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def save(self, product_id: int, photo: ProcessedPhoto) -> tuple[str, str]:
        stem = f"{product_id}/{uuid.uuid4().hex}"
        names = (f"{stem}.{photo.ext}", f"{stem}-thumb.{THUMB_EXT}")
        (self.root / str(product_id)).mkdir(parents=True, exist_ok=True)
        for name, data in zip(names, (photo.image, photo.thumbnail), strict=True):
            tmp = self.root / f"{name}.part"
            tmp.write_bytes(data)
            tmp.replace(self.root / name)
        return names

    def remove(self, *names: str) -> None:
        for name in names:
            (self.root / name).unlink(missing_ok=True)


def url_of(filename: str) -> str:
    return f"{MEDIA_PREFIX}/{filename}"


MEDIA_PREFIX = "/api/catalog/media"


# --- demo photos (seed): rendered locally, no network -----------------------------------------

def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


def render_demo_photo(title: str, category: str, variant: int, side: int = 640) -> bytes:
    """A JPEG "product shot": a gradient in a colour derived from the category, a simple shape
    that differs per variant, and the title. Deterministic for the same inputs."""
    digest = hashlib.sha256(f"{category}".encode()).digest()
    hue = digest[0] / 255
    top = tuple(int(c * 255) for c in colorsys.hsv_to_rgb(hue, 0.25, 0.97))
    bottom = tuple(int(c * 255) for c in colorsys.hsv_to_rgb((hue + 0.05 * variant) % 1, 0.55,
                                                                0.75))
    gradient = Image.linear_gradient("L").resize((side, side))
    image = Image.composite(Image.new("RGB", (side, side), bottom),
                            Image.new("RGB", (side, side), top), gradient)
    draw = ImageDraw.Draw(image)
    accent = tuple(int(c * 255) for c in colorsys.hsv_to_rgb((hue + 0.5) % 1, 0.5, 0.9))
    box = (side * 0.25, side * 0.2, side * 0.75, side * 0.7)
    [draw.ellipse, draw.rounded_rectangle, draw.rectangle][variant % 3](box, fill=accent)
    words, lines, line = title.split(), [], ""
    for word in words:
        if len(line) + len(word) > 22 and line:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    font = _font(side // 16)
    y = side * 0.76
    for text in lines[:3]:
        draw.text((side / 2, y), text, fill=(30, 30, 30), font=font, anchor="ma")
        y += side // 14
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()
