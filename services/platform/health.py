"""`/health` (the process is alive), `/ready` (its dependencies answer) and `/metrics`."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from services.platform.errors import problem_response

Check = Callable[[], Awaitable[None]]

router = APIRouter(tags=["operations"])


@router.get("/health", include_in_schema=False)
async def health(request: Request) -> dict[str, str]:
    return {"status": "ok", "service": request.app.title}


@router.get("/ready", include_in_schema=False)
async def ready(request: Request) -> Any:
    checks: dict[str, Check] = getattr(request.app.state, "ready_checks", {})
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            await asyncio.wait_for(check(), timeout=2.0)
            results[name] = "ok"
        except Exception as exc:
            results[name] = f"failing: {type(exc).__name__}"
    if all(v == "ok" for v in results.values()):
        return {"status": "ready", "checks": results}
    failing = ", ".join(k for k, v in results.items() if v != "ok")
    return problem_response(503, "not-ready", f"Dependencies not ready: {failing}", checks=results)


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    """This process's metrics, or, where a service runs several processes (prometheus_client's
    multiprocess mode, PROMETHEUS_MULTIPROC_DIR), all of theirs summed."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
