"""`/ws`: live notifications over a WebSocket, authenticated with the access token.

Browsers cannot set `Authorization` on a WebSocket, so the token comes as `?token=<jwt>` or as
the subprotocol pair `Sec-WebSocket-Protocol: bearer, <jwt>` (the server answers `bearer`; the
header form keeps the token out of access logs). Cookies are not used, so a cross-site page
cannot ride a shopper's session (no Origin check is needed). A bad token or an expired one closes
the socket with code 4401: the client refreshes its token and reconnects.

Fan-out: the notifications worker publishes a user's messages on the Redis channel
`notifications:push:<user_id>`. Each gateway process has one pub/sub connection and subscribes to
a user's channel while it holds at least one of their sockets, so a message reaches every open
tab whichever process holds it. Each socket has a bounded queue: a client too slow to keep up is
disconnected (it reloads the notification centre) instead of stalling everyone else's messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import orjson
import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from services.gateway.jwks import GatewayKeys
from services.platform.errors import Problem

log = structlog.get_logger("ws")
PUSH_CHANNEL_PREFIX = "notifications:push:"
QUEUE_SIZE = 256
UNAUTHORIZED = 4401
TOO_SLOW = 4408


class PushHub:
    """Per-process registry of open sockets by user, fed by one Redis pub/sub connection."""

    def __init__(self, redis: Redis):
        self.pubsub: PubSub = redis.pubsub(ignore_subscribe_messages=True)
        self.queues: dict[str, set[asyncio.Queue[bytes | None]]] = {}
        self._lock = asyncio.Lock()
        self._subscribed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    @property
    def connections(self) -> int:
        return sum(len(qs) for qs in self.queues.values())

    async def join(self, user_id: str) -> asyncio.Queue[bytes | None]:
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE_SIZE)
        async with self._lock:
            if user_id not in self.queues:
                await self.pubsub.subscribe(PUSH_CHANNEL_PREFIX + user_id)
                self.queues[user_id] = set()
                self._subscribed.set()
            self.queues[user_id].add(queue)
            if self._reader is None:
                self._reader = asyncio.create_task(self._read_forever())
        return queue

    async def leave(self, user_id: str, queue: asyncio.Queue[bytes | None]) -> None:
        async with self._lock:
            queues = self.queues.get(user_id)
            if queues is None:
                return
            queues.discard(queue)
            if not queues:
                del self.queues[user_id]
                await self.pubsub.unsubscribe(PUSH_CHANNEL_PREFIX + user_id)

    def _fan_out(self, channel: bytes, data: bytes) -> None:
        user_id = channel.decode()[len(PUSH_CHANNEL_PREFIX):]
        for queue in list(self.queues.get(user_id, ())):
            try:
                queue.put_nowait(data)
            except asyncio.QueueFull:  # this socket cannot keep up: its writer will close it
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
                queue.put_nowait(None)

    async def _read_forever(self) -> None:
        while True:
            try:
                if not self.pubsub.subscribed:
                    self._subscribed.clear()
                    await self._subscribed.wait()
                message = await self.pubsub.get_message(timeout=1.0)
                if message is not None and message["type"] == "message":
                    self._fan_out(message["channel"], message["data"])
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis hiccup: redis-py reconnects and resubscribes
                log.exception("push_read_failed")
                await asyncio.sleep(0.5)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self.pubsub.aclose()


def offered_token(websocket: WebSocket) -> tuple[str | None, str | None]:
    """`(token, subprotocol to answer)` from the query string or `Sec-WebSocket-Protocol`."""
    protocols = [p.strip() for p in websocket.headers.get("sec-websocket-protocol", "").split(",")
                 if p.strip()]
    if len(protocols) >= 2 and protocols[0].lower() == "bearer":
        return protocols[1], protocols[0]
    return websocket.query_params.get("token"), protocols[0] if protocols else None


async def serve_socket(websocket: WebSocket, keys: GatewayKeys, hub: PushHub) -> None:
    token, subprotocol = offered_token(websocket)
    await websocket.accept(subprotocol=subprotocol)
    try:
        if not token:
            raise Problem("Send the access token.", status=401, slug="unauthorized")
        identity = await keys.verify(token)
        claims = keys.tokens.cached(token) or {}
    except Problem as exc:
        await websocket.close(code=UNAUTHORIZED, reason=exc.detail[:120])
        return
    expires_in = float(claims.get("exp", time.time() + 900)) - time.time()
    queue = await hub.join(identity.user_id)
    await websocket.send_text(orjson.dumps({"type": "ready", "user_id": identity.user_id}).decode())
    writer = asyncio.create_task(_write(websocket, queue))
    reader = asyncio.create_task(_drain(websocket))
    try:
        done, _ = await asyncio.wait({writer, reader}, timeout=max(0.0, expires_in),
                                     return_when=asyncio.FIRST_COMPLETED)
        if not done:  # the token expired while the socket was open
            await _close(websocket, UNAUTHORIZED, "The access token has expired.")
        elif writer in done and writer.result() is False:
            await _close(websocket, TOO_SLOW, "Too slow to keep up; reconnect.")
    finally:
        writer.cancel()
        reader.cancel()
        await hub.leave(identity.user_id, queue)


async def _write(websocket: WebSocket, queue: asyncio.Queue[bytes | None]) -> bool:
    """Forward queued messages; False when the client fell behind, True when it left."""
    while True:
        data = await queue.get()
        if data is None:
            return False
        try:
            await websocket.send_text(data.decode())
        except (WebSocketDisconnect, RuntimeError, OSError):
            return True


async def _drain(websocket: WebSocket) -> None:
    """Client messages are not used; reading notices the disconnect."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.application_state == WebSocketState.CONNECTED:
        with contextlib.suppress(Exception):
            await websocket.close(code=code, reason=reason)
