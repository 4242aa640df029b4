"""Test servers' ports come from outside the kernel's ephemeral range.

A port from that range can be taken by any outgoing connection while a test
server is down for a restart ("could not bind ... Address already in use" in CI).
"""

from __future__ import annotations

import random
import socket

import pytest

from pgcluster.testing._ports import ephemeral_range, free_port


def test_a_free_port_is_below_the_ephemeral_range_and_bindable() -> None:
    low, high = ephemeral_range()
    assert 0 < low <= high
    for _ in range(20):
        port = free_port()
        assert port < low
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_a_port_in_use_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_port()))
        taken.listen()
        used = taken.getsockname()[1]
        picks = iter([used, used, used + 1])
        monkeypatch.setattr(random, "randrange", lambda *_: next(picks))
        assert free_port() == used + 1
