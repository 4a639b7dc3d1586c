"""The users service's public keys, cached by the gateway and refreshed on rotation."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import jwt
import structlog

from services.platform.auth import Identity, KeySet, VerifiedTokens, identity_from_claims
from services.platform.errors import Unauthorized

log = structlog.get_logger("jwks")
MIN_REFRESH_INTERVAL_S = 5.0
"""After a successful fetch, at most one more per interval (unknown kids cannot hammer users)."""
RETRY_AFTER_FAILURE_S = 0.5


class GatewayKeys:
    def __init__(self, url: str, session: aiohttp.ClientSession):
        self.url = url
        self.session = session
        self.keyset = KeySet()
        self.tokens = VerifiedTokens(self.keyset)
        self._lock = asyncio.Lock()
        self._next_allowed = float("-inf")

    async def refresh(self) -> bool:
        async with self._lock:
            if time.monotonic() < self._next_allowed:
                return False
            self._next_allowed = time.monotonic() + RETRY_AFTER_FAILURE_S
            try:
                async with self.session.get(self.url, timeout=aiohttp.ClientTimeout(total=3)) as r:
                    r.raise_for_status()
                    self.keyset.load(await r.json())
                self._next_allowed = time.monotonic() + MIN_REFRESH_INTERVAL_S
                log.info("jwks_refreshed", kids=self.keyset.kids)
                return True
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                log.warning("jwks_refresh_failed", error=str(exc))
                return False

    async def verify(self, token: str) -> Identity:
        claims = self.tokens.cached(token)
        if claims is not None:
            return identity_from_claims(claims)
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise Unauthorized("The access token is malformed.", slug="invalid-token") from exc
        if kid not in self.keyset.kids:
            await self.refresh()  # a rotated key, or the first request after start
        return identity_from_claims(self.tokens.decode(token))

    async def refresh_forever(self, every_s: float) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(every_s if self.keyset.kids else 1.0)
