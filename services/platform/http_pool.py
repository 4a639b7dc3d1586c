"""A small keep-alive HTTP/1.1 client pool for blocking service-to-service calls."""

from __future__ import annotations

import http.client
import threading
import time
from urllib.parse import urlsplit


class Pool:
    """Keep-alive HTTP/1.1 connections to one neighbour, on the standard library's `http.client`.

    For service-to-service calls on hot paths (the orders saga, the cart's stock checks), made
    from many threads at once: httpx spent more CPU on each call (its pool re-scans every
    connection of every host on each request and release) than the neighbour spent answering,
    as much as 40% of the orders service's CPU. Here a call takes an idle
    connection (last in, first out) or opens one, and puts it back after reading the answer.
    Connections idle for `max_idle_s` are not reused (uvicorn closes them after 5 s); should a
    kept connection still turn out closed by the server, the call fails before the request was
    read and is made once more on a new connection."""

    def __init__(self, base_url: str, *, timeout_s: float, keep: int = 64, max_idle_s: float = 2.0):
        url = urlsplit(base_url)
        self.https = url.scheme == "https"
        self.host, self.port = url.hostname or "127.0.0.1", url.port
        self.prefix = url.path.rstrip("/")
        self.timeout_s, self.keep, self.max_idle_s = timeout_s, keep, max_idle_s
        self._idle: list[tuple[http.client.HTTPConnection, float]] = []
        self._lock = threading.Lock()

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        stale = []
        with self._lock:
            while self._idle:
                conn, since = self._idle.pop()
                if time.monotonic() - since < self.max_idle_s:
                    break
                stale.append(conn)
            else:
                conn = None  # type: ignore[assignment]
        for old in stale:
            old.close()
        if conn is not None:
            return conn, True
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        return cls(self.host, self.port, timeout=self.timeout_s), False

    def request(self, method: str, path: str, *, body: bytes | None = None,
                headers: dict[str, str]) -> tuple[int, bytes]:
        """(status, body); OSError or http.client.HTTPException when there is no answer."""
        while True:
            conn, reused = self._connection()
            try:
                conn.request(method, self.prefix + path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
                conn.close()
                if reused:  # the server had closed this idle connection: once more, on a new one
                    continue
                raise
            except BaseException:
                conn.close()
                raise
            if response.will_close:
                conn.close()
            else:
                with self._lock:
                    if len(self._idle) < self.keep:
                        self._idle.append((conn, time.monotonic()))
                        conn = None  # type: ignore[assignment]
                if conn is not None:
                    conn.close()
            return response.status, data

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn, _ in idle:
            conn.close()
