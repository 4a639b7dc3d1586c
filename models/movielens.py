"""MovieLens 100K loader (shared/datasets/movielens/ml-100k), used only for tests and benchmarks."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

GENRES = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]


def default_path() -> Path:
    """``$ML100K_PATH`` or the shared dataset folder next to the repository."""
    env = os.environ.get("ML100K_PATH")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[1]
    for base in (repo.parent / "shared", repo / "shared", Path("/work/shared")):
        candidate = base / "datasets" / "movielens" / "ml-100k"
        if (candidate / "u.data").exists():
            return candidate
    return repo.parent / "shared" / "datasets" / "movielens" / "ml-100k"


def load_ratings(path: Path | None = None) -> pl.DataFrame:
    """u.data in file order (the order matters for the seeded split): user, item, rating, ts."""
    path = Path(path or default_path())
    file = path / "u.data"
    if not file.exists():
        raise FileNotFoundError(f"MovieLens 100K not found at {path} (set ML100K_PATH)")
    return pl.read_csv(
        file,
        separator="\t",
        has_header=False,
        new_columns=["user_id", "item_id", "rating", "timestamp"],
        schema_overrides={
            "user_id": pl.Int64,
            "item_id": pl.Int64,
            "rating": pl.Float64,
            "timestamp": pl.Int64,
        },
    )


def load_genre_flags(path: Path | None = None) -> dict[int, list[int]]:
    """u.item's 19 genre flags per item id (the reranker's item attributes)."""
    path = Path(path or default_path())
    flags: dict[int, list[int]] = {}
    for line in (path / "u.item").read_text(encoding="latin-1").splitlines():
        if line.strip():
            parts = line.split("|")
            flags[int(parts[0])] = [int(f) for f in parts[5:24]]
    return flags


def load_items(path: Path | None = None) -> pl.DataFrame:
    """u.item as item_id, title, category (genre names joined by spaces)."""
    path = Path(path or default_path())
    rows = []
    for line in (path / "u.item").read_text(encoding="latin-1").splitlines():
        if not line.strip():
            continue
        parts = line.split("|")
        flags = parts[5:24]
        genres = " ".join(g for g, f in zip(GENRES, flags, strict=False) if f == "1")
        rows.append((int(parts[0]), parts[1], genres))
    return pl.DataFrame(rows, schema=["item_id", "title", "category"], orient="row")
