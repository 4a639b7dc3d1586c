"""Blocking work off the event loop, cheaply.

Routes are coroutines that hand their blocking part (SQL, sync clients) to `in_thread`, so a
request pays one hand-off: FastAPI runs each *sync* dependency, the sync endpoint and then the
response validation in starlette's thread pool, a hand-off each.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

_WORKERS = ThreadPoolExecutor(40, thread_name_prefix="blocking")


async def in_thread(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run `fn` in the process's worker pool with the caller's context variables (the request
    id in logs). What starlette's `run_in_threadpool` does, at about a third of its CPU per call:
    anyio wakes its workers through a Python-level `Condition`, the executor's queue is C."""
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_WORKERS, call)
