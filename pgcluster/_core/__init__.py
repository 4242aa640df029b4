"""The pure core: every decision pgcluster makes, with no I/O.

Nothing here imports asyncio, threading, time or socket: the shells pass the
clock (``now``), randomness and locks in, report what happened and ask what
to do next, so each rule is tested with plain values (tests/core/).
"""
