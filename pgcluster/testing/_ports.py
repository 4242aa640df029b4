"""Loopback ports for test servers that no other socket will take in the meantime.

A port the kernel hands out for ``bind(0)`` comes from the ephemeral range
(``net.ipv4.ip_local_port_range``), the same range every outgoing connection
draws its local port from. A server stopped for a test and started again, or
one given a port a moment before it binds, could then find it taken by some
client's connection ("could not bind ... Address already in use"). Ports
below that range are never handed out implicitly, so a harness that picks
its ports there (and checks each is free) only races other harnesses.
"""

from __future__ import annotations

import random
import socket

__all__ = ["free_port"]

HOST = "127.0.0.1"
_LOWEST = 10_000  # above the well-known and most registered services' ports
_RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range"
_TRIES = 200


def ephemeral_range() -> tuple[int, int]:
    """The kernel's ephemeral port range (Linux's default where it cannot be read)."""
    try:
        with open(_RANGE_FILE) as f:
            low, high = (int(part) for part in f.read().split())
    except (OSError, ValueError):
        return 32768, 60999
    return low, high


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A free 127.0.0.1 TCP port outside the ephemeral range (inside it if none is)."""
    low, _ = ephemeral_range()
    if low - _LOWEST > _TRIES:
        for _ in range(_TRIES):
            port = random.randrange(_LOWEST, low)
            if _bindable(port):
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])
