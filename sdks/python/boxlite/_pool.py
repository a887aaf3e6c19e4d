"""Where blocking native calls run: a pool of worker threads of its own, so
that many concurrent calls (ten execs waiting at once, say) never queue
behind asyncio's small default executor. The native calls release the GIL."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from typing import Any, Callable, TypeVar

T = TypeVar("T")

_pool = concurrent.futures.ThreadPoolExecutor(max_workers=128, thread_name_prefix="boxlite")


async def run_blocking(fn: Callable[..., T], *args: Any, **kw: Any) -> T:
    """Runs fn(*args, **kw) on a worker thread and awaits its result."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool, functools.partial(fn, *args, **kw))
