"""The merged OpenAPI document of every upstream, as the gateway exposes them.

Each service publishes its own `/openapi.json`; the gateway serves the union of their paths (all
of them live under `/api/<service>/` already). Schema names that collide between services with
different content are namespaced `<service>.<Name>` and their `$ref`s rewritten.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import orjson

CACHE_S = 30.0


def merge(documents: dict[str, dict[str, Any]], *, title: str, version: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    owners: dict[str, str] = {}
    for service, doc in sorted(documents.items()):
        own = doc.get("components", {}).get("schemas", {})
        renames = {name: f"{service}.{name}" for name, schema in own.items()
                   if name in schemas and schemas[name] != schema}
        raw = orjson.dumps(doc).decode()
        for old, new in renames.items():
            raw = raw.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
        doc = orjson.loads(raw)
        for name, schema in doc.get("components", {}).get("schemas", {}).items():
            schemas.setdefault(name, schema)
            owners.setdefault(name, service)
        for path, item in doc.get("paths", {}).items():
            if path.startswith("/api/") or path.startswith("/.well-known/"):
                for operation in item.values():
                    if isinstance(operation, dict):
                        operation.setdefault("tags", [service])
                paths[path] = item
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "All services behind the gateway: " + ", ".join(sorted(documents))},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


class MergedOpenAPI:
    def __init__(self, upstreams: dict[str, str], session: aiohttp.ClientSession):
        self.upstreams = upstreams
        self.session = session
        self._doc: dict[str, Any] | None = None
        self._at = float("-inf")

    async def _fetch(self, service: str, base: str) -> tuple[str, dict[str, Any] | None]:
        try:
            async with self.session.get(f"{base}/openapi.json",
                                        timeout=aiohttp.ClientTimeout(total=2)) as r:
                return service, (await r.json()) if r.status == 200 else None
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return service, None

    async def document(self) -> dict[str, Any]:
        if self._doc is None or time.monotonic() - self._at > CACHE_S:
            results = await asyncio.gather(*(self._fetch(s, b) for s, b in self.upstreams.items()))
            docs = {s: d for s, d in results if d is not None}
            self._doc = merge(docs, title="shop API (gateway)", version="0.1.0")
            self._at = time.monotonic()
        return self._doc
