"""The few names whose sync and async versions differ beyond async/await.

The async modules import the ``a``/``A``-prefixed names; tools/async_to_sync.py
renames them to the plain ones when it generates the sync modules.
"""

from __future__ import annotations

import asyncio
import threading
import time

asleep = asyncio.sleep
sleep = time.sleep

ALock = asyncio.Lock
Lock = threading.Lock

__all__ = ["ALock", "Lock", "asleep", "sleep"]
