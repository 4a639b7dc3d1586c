"""The warehouse's popularity signal, read by whoever writes search documents.

The `product_popularity_signal` Dagster asset replaces `reco/popularity_signal.parquet` (columns
`product_id, popularity`: the 30-day score of views, add-to-carts and units sold) atomically.
Once it exists, products rank and sort by that score (0 for products it does not list: nothing
happened to them lately); until then the ratings-based stand-in
(`search.documents.rating_popularity`) is used.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import structlog

log = structlog.get_logger("catalog.popularity")


class PopularitySignal:
    def __init__(self, path: Path):
        self.path = path
        self.values: dict[int, float] | None = None
        """None while there is no signal (ratings stand in); then product id -> popularity."""
        self._stamp: tuple[int, int, int] | None = None

    def of(self, product_id: int) -> float | None:
        """The product's popularity: 0 if the signal does not list it (no recent views, carts or
        sales), None while there is no signal at all."""
        return None if self.values is None else self.values.get(product_id, 0.0)

    def refresh(self) -> list[int] | None:
        """Re-read the file if it was replaced. Returns the products whose popularity changed, or
        None when every product's did (the signal appeared or went away)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            if self.values is None:
                return []
            self.values, self._stamp = None, None
            return None
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return []
        self._stamp = stamp
        try:
            frame = pl.read_parquet(self.path, columns=["product_id", "popularity"])
        except (OSError, pl.exceptions.PolarsError) as exc:  # keep the last good values
            log.warning("popularity_signal_unreadable", path=str(self.path), error=str(exc))
            return []
        values = {int(pid): max(0.0, float(pop)) for pid, pop in frame.iter_rows()
                  if pid is not None and pop is not None}
        old, self.values = self.values, values
        log.info("popularity_signal_loaded", products=len(values))
        if old is None:
            return None
        return sorted(pid for pid in old.keys() | values.keys()
                      if old.get(pid, 0.0) != values.get(pid, 0.0))
