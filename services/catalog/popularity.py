"""The warehouse's popularity signal, read by whoever writes search documents.

The `product_popularity_signal` Dagster asset replaces `reco/popularity_signal.parquet` (columns
`product_id, popularity`: the 30-day score of views, add-to-carts and units sold) atomically.
Products it lists rank and sort by that score; others keep the ratings-based stand-in
(`search.documents.rating_popularity`), as before the warehouse had any data.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import structlog

log = structlog.get_logger("catalog.popularity")


class PopularitySignal:
    def __init__(self, path: Path):
        self.path = path
        self.values: dict[int, float] = {}
        self._stamp: tuple[int, int, int] | None = None

    def refresh(self) -> list[int]:
        """Re-read the file if it was replaced; return the products whose popularity changed."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            stamp, values = None, {}
        else:
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
            if stamp == self._stamp:
                return []
            try:
                frame = pl.read_parquet(self.path, columns=["product_id", "popularity"])
            except (OSError, pl.exceptions.PolarsError) as exc:  # keep the last good values
                log.warning("popularity_signal_unreadable", path=str(self.path), error=str(exc))
                self._stamp = stamp  # until the next file arrives
                return []
            values = {int(pid): max(0.0, float(pop)) for pid, pop in frame.iter_rows()
                      if pid is not None and pop is not None}
        if stamp == self._stamp:
            return []
        changed = sorted(pid for pid in self.values.keys() | values.keys()
                         if self.values.get(pid) != values.get(pid))
        self.values, self._stamp = values, stamp
        if changed:
            log.info("popularity_signal_loaded", products=len(values), changed=len(changed))
        return changed
