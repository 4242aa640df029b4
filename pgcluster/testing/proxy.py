"""A loopback TCP proxy that can break the network between a client and one server.

It runs its own asyncio loop in a background thread, so it works under sync
and async tests alike. Its commands (`cut`, `blackhole`, `delay`, `restore`)
may be called from any thread and have taken effect when they return.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, Protocol, TypeVar

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ._binaries import HarnessError

__all__ = ["TcpProxy"]

_T = TypeVar("_T")
_CHUNK = 65536


class _HasDsn(Protocol):
    @property
    def dsn(self) -> str: ...


class _Mode(enum.Enum):
    NORMAL = "normal"
    CUT = "cut"
    BLACKHOLE = "blackhole"


class TcpProxy:
    """Forward 127.0.0.1:`port` to *target_host*:*target_port*, with faults on demand.

    Use it as a context manager, or call `start` and `close`.
    """

    def __init__(
        self, target_host: str, target_port: int, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.host = host
        self.port = port  # 0 until started: then the port actually listened on
        self._mode = _Mode.NORMAL
        self._delay = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._flowing: asyncio.Event | None = None  # set unless black-holed
        self._transports: set[asyncio.WriteTransport] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    def __repr__(self) -> str:
        return (
            f"<TcpProxy {self.host}:{self.port} -> {self.target_host}:{self.target_port}"
            f" {self._mode.value}{f' +{self._delay:g}s' if self._delay else ''}>"
        )

    def __enter__(self) -> TcpProxy:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- life cycle ----------------------------------------------------------------

    def start(self) -> None:
        """Start listening; return once connections are accepted."""
        if self._thread is not None:
            raise HarnessError("this TcpProxy is already started")
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(
            target=loop.run_forever, name=f"TcpProxy->{self.target_port}", daemon=True
        )
        self._thread.start()
        try:
            self._call(self._listen())
        except BaseException:
            self.close()
            raise

    async def _listen(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    def close(self) -> None:
        """Stop listening, close every connection and stop the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            with contextlib.suppress(Exception):
                self._call(self._shutdown())
            loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        self._loop = self._thread = None

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        self._abort_all()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def _call(self, coro: Coroutine[Any, Any, _T]) -> _T:
        """Run *coro* on the proxy's loop and wait for it (from any other thread)."""
        if self._loop is None:
            coro.close()
            raise HarnessError("the TcpProxy is not started")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    # -- faults ------------------------------------------------------------------

    def cut(self) -> None:
        """Close every open connection, and close new ones as soon as they are accepted."""
        self._call(self._set(_Mode.CUT))

    def blackhole(self) -> None:
        """Forward nothing either way, on open and new connections alike, but close nothing.

        Like a network partition: a client hangs until its own timeout. Bytes
        held back are delivered after `restore` (as TCP would retransmit them).
        """
        self._call(self._set(_Mode.BLACKHOLE))

    def delay(self, seconds: float) -> None:
        """Hold every chunk of data *seconds* before forwarding it, in each direction."""
        if seconds < 0:
            raise ValueError("delay must be >= 0")
        self._delay = seconds

    def restore(self) -> None:
        """Back to normal forwarding: no cut, no black hole, no delay."""
        self._delay = 0.0
        self._call(self._set(_Mode.NORMAL))

    async def _set(self, mode: _Mode) -> None:
        self._mode = mode
        assert self._flowing is not None
        if mode is _Mode.BLACKHOLE:
            self._flowing.clear()
        else:
            self._flowing.set()
        if mode is _Mode.CUT:
            self._abort_all()

    def _abort_all(self) -> None:
        for transport in list(self._transports):
            transport.abort()
        self._transports.clear()

    # -- forwarding -------------------------------------------------------------------

    def dsn(self, target: str | _HasDsn) -> str:
        """A connection string like *target*'s (a string or a node) but going through the proxy."""
        params = conninfo_to_dict(target if isinstance(target, str) else target.dsn)
        params.pop("hostaddr", None)
        params.update(host=self.host, port=str(self.port))
        return make_conninfo("", **params)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        assert self._flowing is not None
        self._tasks.add(task)
        client = writer.transport
        self._transports.add(client)
        try:
            # A black hole answers nothing, not even by reaching the server.
            await self._flowing.wait()
            if self._mode is _Mode.CUT:
                return
            try:
                up_reader, up_writer = await asyncio.open_connection(
                    self.target_host, self.target_port
                )
            except OSError:
                return  # the server is down: the client sees its connection closed
            self._transports.add(up_writer.transport)
            try:
                await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))
            finally:
                up_writer.transport.abort()
                self._transports.discard(up_writer.transport)
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            client.abort()
            self._transports.discard(client)
            self._tasks.discard(task)

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        """Copy *src* to *dst* until either end closes, obeying the current faults."""
        assert self._flowing is not None
        try:
            while data := await src.read(_CHUNK):
                if self._delay:
                    await asyncio.sleep(self._delay)
                await self._flowing.wait()
                if self._mode is _Mode.CUT or dst.transport.is_closing():
                    break
                dst.write(data)
                await dst.drain()
        finally:
            # One direction ending ends the connection: abort both sides' writers.
            dst.transport.abort()
