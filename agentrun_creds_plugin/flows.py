"""Write operations as flows: one piece of logic, driven sync or async.

A store write is a generator that yields transaction steps, ``(method, args)``, and receives
each step's result; it returns the operation's result. :func:`run` drives it inside
``backend.transaction()``; :func:`arun` drives it inside ``backend.atransaction()`` on a
backend with native async connections (PostgreSQL), else runs :func:`run` in a worker thread.
So the store states each operation once, the way httpx states an auth flow once for its sync
and async clients, and the event loop is never blocked by a write. An exception raised by the
flow (a refused write) leaves the transaction, which rolls back.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any, TypeVar

from ._threads import to_thread

if TYPE_CHECKING:
    from .backends.base import Backend

__all__ = ["Flow", "Step", "arun", "run"]

R = TypeVar("R")

#: One transaction step: the name of a :class:`~.backends.base.Transaction` method, its args.
Step = tuple[str, tuple[Any, ...]]
Flow = Generator[Step, Any, R]


def run(backend: Backend, flow: Flow[R]) -> R:
    """Drive ``flow`` in one sync transaction."""
    with backend.transaction() as tx:
        try:
            method, args = next(flow)
            while True:
                method, args = flow.send(getattr(tx, method)(*args))
        except StopIteration as stop:
            result: R = stop.value
            return result


async def arun(backend: Backend, flow: Flow[R]) -> R:
    """Drive ``flow`` without blocking the loop: native async transaction, or a thread."""
    if not backend.native_async:
        return await to_thread(run, backend, flow)
    async with backend.atransaction() as tx:
        try:
            method, args = next(flow)
            while True:
                method, args = flow.send(await getattr(tx, method)(*args))
        except StopIteration as stop:
            result: R = stop.value
            return result
