"""The few names whose sync and async versions differ beyond async/await.

The async modules import the ``a``-prefixed names; tools/async_to_sync.py
renames them to the plain ones when it generates the sync modules.
"""

from __future__ import annotations

import asyncio
import time

asleep = asyncio.sleep
sleep = time.sleep

__all__ = ["asleep", "sleep"]
