"""Two socket-level facts about a psycopg connection that libpq cannot tell us in time."""

from __future__ import annotations

import contextlib
import select
import socket
from typing import Any

import psycopg
from psycopg import pq


def abort_connection(conn: psycopg.BaseConnection[Any]) -> None:
    """Make a statement waiting on *conn* fail now, from any thread.

    Shutting the socket down wakes the waiting side with an error, which a
    server that is hung (not dead) would never send. The connection is then
    broken, and its pool replaces it.
    """
    with contextlib.suppress(Exception):
        fd = conn.pgconn.socket
        # fromfd() duplicates the descriptor: closing the copy leaves libpq's alone,
        # while shutdown() acts on the socket both share.
        with socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.shutdown(socket.SHUT_RDWR)


def lost_while_idle(conn: psycopg.BaseConnection[Any]) -> bool:
    """True when an idle connection has already heard its server's last words.

    A server that shuts down (or whose postmaster dies) sends FATAL 57P01 to
    idle connections and closes them. A write sent on such a connection
    would read that error and look "maybe applied" when it never ran; one
    non-blocking poll before sending tells the two cases apart.
    """
    try:
        readable, _, _ = select.select([conn.pgconn.socket], [], [], 0)
        if not readable:
            return False
        conn.pgconn.consume_input()
    except (OSError, psycopg.Error):
        return True
    return conn.pgconn.status != pq.ConnStatus.OK
