"""The few names whose sync and async versions differ beyond async/await.

The async modules import the ``a``/``A``-prefixed names; tools/async_to_sync.py
renames them to the plain ones when it generates the sync modules.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

logger = logging.getLogger("pgcluster")

asleep = asyncio.sleep
sleep = time.sleep

ALock = asyncio.Lock
Lock = threading.Lock

_background: set[asyncio.Task[Any]] = set()  # referenced until done (asyncio keeps weak refs)


def aspawn(work: Callable[[], Coroutine[Any, Any, Any]]) -> None:
    """Run ``work()`` in the background, as a task of the running loop."""
    task = asyncio.get_running_loop().create_task(_logged(work))
    _background.add(task)
    task.add_done_callback(_background.discard)


async def _logged(work: Callable[[], Coroutine[Any, Any, Any]]) -> None:
    try:
        await work()
    except Exception:
        logger.exception("background work %r failed", work)


def spawn(work: Callable[[], Any]) -> None:
    """Run ``work()`` in the background, in a daemon thread."""

    def logged() -> None:
        try:
            work()
        except Exception:
            logger.exception("background work %r failed", work)

    threading.Thread(target=logged, name="pgcluster-background", daemon=True).start()


class ABroadcast:
    """A "something changed" signal that any number of tasks wait on, with no polling.

    To miss no change, take a `ticket()` before checking the condition, then
    `wait()` on it: a `notify()` after the ticket was taken ends the wait at
    once. Used from one event loop.
    """

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None

    def ticket(self) -> asyncio.Event:
        if self._event is None:
            self._event = asyncio.Event()
        return self._event

    def notify(self) -> None:
        """Wake every waiter (and every ticket taken so far)."""
        event, self._event = self._event, None
        if event is not None:
            event.set()

    async def wait(self, ticket: asyncio.Event, timeout: float) -> None:
        """Until a `notify()` after *ticket* was taken, or *timeout* seconds."""
        if timeout > 0 and not ticket.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(ticket.wait(), timeout)


class Broadcast:
    """`ABroadcast` for threads: `notify()` may come from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._event: threading.Event | None = None

    def ticket(self) -> threading.Event:
        with self._lock:
            if self._event is None:
                self._event = threading.Event()
            return self._event

    def notify(self) -> None:
        with self._lock:
            event, self._event = self._event, None
        if event is not None:
            event.set()

    def wait(self, ticket: threading.Event, timeout: float) -> None:
        if timeout > 0:
            ticket.wait(timeout)


__all__ = [
    "ABroadcast",
    "ALock",
    "Broadcast",
    "Lock",
    "asleep",
    "aspawn",
    "sleep",
    "spawn",
]
