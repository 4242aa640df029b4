"""The few names whose sync and async versions differ beyond async/await.

The async modules import the ``a``/``A``-prefixed names; tools/async_to_sync.py
renames them to the plain ones when it generates the sync modules.
"""

from __future__ import annotations

import asyncio
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


__all__ = ["ALock", "Lock", "asleep", "aspawn", "sleep", "spawn"]
