"""`Idempotency-Key` with Stripe's semantics.

- The first request with a key claims it (`in_progress`) in a transaction of its own, then does
  its work in a second transaction that also stores the response: the effect and its recorded
  answer commit together, so a replay can never miss an effect that happened.
- The same key with the same method, path and body answers the stored response (flagged with
  `Idempotent-Replayed: true`); the same key with anything else is a 409.
- A concurrent request with the key waits for the first to finish and answers its response: ten
  simultaneous submissions have exactly one effect.
- Only executed requests are stored. A request refused by validation, or one that crashed, frees
  the key; a claim left behind by a killed process is retaken once it is older than
  `stale_s`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.payments.store import INSERT_KEY, KEY_DONE, KEY_ROW, IdempotencyKey
from services.platform.db import Database
from services.platform.errors import Conflict
from services.platform.utc import as_utc

Work = Callable[[Session], tuple[int, dict[str, Any]]]
POLL_S = 0.02



class IdempotentRunner:
    def __init__(self, db: Database, *, wait_s: float, stale_s: float):
        self.db, self.wait_s, self.stale_s = db, wait_s, stale_s

    def run(self, *, principal: str, key: str, fingerprint: str,
            work: Work) -> tuple[int, dict[str, Any], bool]:
        """Return (status, body, replayed)."""
        stored = self._claim(principal, key, fingerprint)
        if stored is not None:
            return stored[0], stored[1], True
        try:
            with self.db.session() as session:
                status, body = work(session)
                session.connection().execute(KEY_DONE, {"p_principal": principal, "p_key": key,
                                                        "p_status": status, "p_body": body})
        except BaseException:
            with self.db.session() as session:
                session.execute(delete(IdempotencyKey).where(
                    IdempotencyKey.principal == principal, IdempotencyKey.key == key,
                    IdempotencyKey.state == "in_progress"))
            raise
        return status, body, False

    def _claim(self, principal: str, key: str, fingerprint: str) -> tuple[int, dict] | None:
        """Claim the key (None) or return the stored response of the request that owns it."""
        deadline = time.monotonic() + self.wait_s
        while True:
            now = datetime.now(UTC)
            try:
                with self.db.session() as session:
                    conn = session.connection()
                    row = conn.execute(KEY_ROW, {"p_principal": principal, "p_key": key}).first()
                    if row is None:
                        conn.execute(INSERT_KEY, {"principal": principal, "key": key,
                                                  "fingerprint": fingerprint, "state": "in_progress",
                                                  "locked_at": now, "created_at": now})
                        return None
                    if row.fingerprint != fingerprint:
                        raise Conflict("This Idempotency-Key was already used with a different "
                                       "request.", slug="idempotency-key-reused")
                    if row.state == "done":
                        assert row.response_status is not None and row.response_body is not None
                        return row.response_status, row.response_body
                    if as_utc(row.locked_at) < now - timedelta(seconds=self.stale_s):
                        taken = session.execute(
                            update(IdempotencyKey)
                            .where(IdempotencyKey.principal == principal, IdempotencyKey.key == key,
                                   IdempotencyKey.locked_at == row.locked_at)
                            .values(locked_at=now))
                        if taken.rowcount:
                            return None
            except IntegrityError:
                continue  # a concurrent first request inserted the key: read it again
            if time.monotonic() > deadline:
                raise Conflict("A request with this Idempotency-Key is still in progress.",
                               slug="idempotency-key-in-use", headers={"Retry-After": "1"})
            time.sleep(POLL_S)

