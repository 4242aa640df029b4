"""Small helpers shared by the tests: deadlines instead of sleep-and-hope, free ports."""

from __future__ import annotations

import asyncio
import socket
import time


class Deadline:
    """Poll a condition until it holds or *seconds* pass; then fail saying what was awaited."""

    def __init__(self, seconds: float, interval: float = 0.02) -> None:
        self.seconds = seconds
        self.interval = interval
        self.end = time.monotonic() + seconds

    @property
    def expired(self) -> bool:
        return time.monotonic() > self.end

    def _check(self, what: str) -> None:
        if self.expired:
            raise AssertionError(f"gave up after {self.seconds} s waiting for {what}")

    def sleep(self, what: str) -> None:
        """Fail if the deadline passed, else wait a little before the next poll."""
        self._check(what)
        time.sleep(self.interval)

    async def asleep(self, what: str) -> None:
        """`sleep()` for async tests."""
        self._check(what)
        await asyncio.sleep(self.interval)


def free_port() -> int:
    """A loopback TCP port that nothing listens on (at the time of asking)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
