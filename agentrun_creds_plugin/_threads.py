"""``asyncio.to_thread`` without importing asyncio at import time.

The store's async methods run blocking reads in a worker thread. Importing ``asyncio`` costs
about 20 ms of a cold start that a sync-only process never needs; by the time an async
method runs, the event loop has imported it anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["to_thread"]

T = TypeVar("T")


async def to_thread(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``await asyncio.to_thread(fn, *args, **kwargs)`` (context variables follow)."""
    import asyncio

    return await asyncio.to_thread(fn, *args, **kwargs)
