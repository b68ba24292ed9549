"""Drive a :class:`~.engine.CaseRun` over an asyncio stream: the runners' one I/O loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from .engine import CaseRun

__all__ = [
    "FLUSH_TIMEOUT",
    "READ_SIZE",
    "ResetTolerantReader",
    "drive",
    "open_connection",
    "start_server",
]

READ_SIZE = 1 << 16
"""The most bytes read at once."""

FLUSH_TIMEOUT = 2.0
"""Seconds given, once the case is over, to the last bytes to leave and the stream to close."""


async def drive(
    run: CaseRun,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    limit: float | None = None,
    flush_timeout: float = FLUSH_TIMEOUT,
) -> None:
    """Play ``run`` to its end over ``reader`` and ``writer``, then close the stream.

    ``run`` must have been made with :func:`time.monotonic` as its clock (the
    default) and started. A reset counts as the testee's end of the stream; the
    bytes that came before it are read first when ``reader`` is a
    :class:`ResetTolerantReader` (what :func:`open_connection` and
    :func:`start_server` give): a plain :class:`asyncio.StreamReader` raises the
    reset before handing them out, and a close frame followed by a reset
    (``SO_LINGER`` 0) would be lost.

    The peer never waits for its writes to be read: what the testee has not
    read yet stays in the transport's buffer while the peer goes on reading, so
    a testee that reads slowly, or not at all, or writes a lot before it reads,
    cannot block it. Every wait ends: at the run's :attr:`~.engine.CaseRun.deadline`;
    at ``limit`` seconds after the start, however much the testee keeps sending
    (the run is then aborted: FAILED); and the last bytes get ``flush_timeout``
    seconds to leave before the connection is cut.

    Args:
        run: The started case.
        reader: The stream from the testee.
        writer: The stream to the testee.
        limit: Seconds the whole case may take, or ``None`` for no such bound.
        flush_timeout: Seconds for the last bytes to leave and the stream to close.
    """
    give_up = None if limit is None else time.monotonic() + limit
    try:
        while True:
            _write(run, writer)
            if run.done or run.close_transport:
                break
            if give_up is not None and time.monotonic() >= give_up:
                run.abort(f"the case took longer than {limit:g} s")
                continue
            await _read(run, reader, give_up)
        _write(run, writer)
        if writer.transport.get_write_buffer_size():
            await _bounded(writer.drain(), flush_timeout)
    finally:
        if writer.transport.get_write_buffer_size():
            writer.transport.abort()  # the testee is not reading: cut, do not wait
        else:
            writer.close()
        await _bounded(writer.wait_closed(), flush_timeout)


def _write(run: CaseRun, writer: asyncio.StreamWriter) -> None:
    for data in run.writes():
        # Once the connection is lost asyncio drops what is written (and logs a
        # warning per write past the fifth): the testee cannot get it anyway.
        if not writer.transport.is_closing():
            writer.write(data)


async def _read(run: CaseRun, reader: asyncio.StreamReader, give_up: float | None) -> None:
    """Wait for the testee's next bytes until the run's deadline (or ``give_up``) and feed them."""
    deadline = run.deadline
    if give_up is not None and (deadline is None or give_up < deadline):
        deadline = give_up
    wait = None if deadline is None else max(deadline - time.monotonic(), 0.0)
    try:
        data = await asyncio.wait_for(reader.read(READ_SIZE), wait)
    except asyncio.TimeoutError:
        if run.deadline is not None and time.monotonic() >= run.deadline:
            run.on_deadline()
        return
    except (ConnectionError, OSError):
        data = b""
    run.receive_data(data)


async def _bounded(waiting: Awaitable[None], timeout: float) -> None:
    """Wait ``timeout`` seconds at most; a failure to send or close is the testee's business."""
    with contextlib.suppress(ConnectionError, OSError, asyncio.TimeoutError):
        await asyncio.wait_for(waiting, timeout)


class ResetTolerantReader(asyncio.StreamReader):
    """A stream reader that hands out every byte received before a reset, then ends.

    :meth:`asyncio.StreamReader.read` raises a connection's error before the
    bytes it still holds: a testee that writes its close frame and then resets
    the connection (``SO_LINGER`` 0) would have its close frame dropped unread.
    This reader turns a network error into the end of the stream, after those
    bytes; the error is kept in :attr:`reset`. (Bytes still in the kernel when
    a write fails are rescued by :class:`_ResetTolerantProtocol`.)
    """

    reset: OSError | None = None
    """The network error that ended the stream, if one did."""

    def set_exception(self, exc: Exception) -> None:
        """Record a network error as the end of the stream; raise anything else as usual."""
        if isinstance(exc, OSError):  # ConnectionResetError, BrokenPipeError, ...
            self.reset = exc
            self.feed_eof()
        else:
            super().set_exception(exc)


class _ResetTolerantProtocol(asyncio.StreamReaderProtocol):
    """Reads what the kernel still holds when the transport dies of a network error.

    A write that fails (the testee reset the connection) makes asyncio's socket
    transport stop reading at once: a close frame that arrived just before the
    reset, not read yet, would stay in the kernel and be lost. The socket is
    still open when :meth:`connection_lost` runs: its bytes are read there,
    without blocking, and handed to the reader before the end of the stream.
    Only plain TCP: under TLS those bytes would need the TLS layer.
    """

    def __init__(self, reader: ResetTolerantReader, *args: Any, **kwargs: Any) -> None:
        super().__init__(reader, *args, **kwargs)
        self._kit_reader = reader
        self._socket: socket.socket | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if transport.get_extra_info("sslcontext") is None:
            self._socket = transport.get_extra_info("socket")
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None and self._socket is not None and self._socket.fileno() >= 0:
            for data in _unread(self._socket.fileno()):
                self._kit_reader.feed_data(data)
        super().connection_lost(exc)


def _unread(fd: int) -> list[bytes]:
    """The bytes waiting in the kernel for socket ``fd``, read without blocking."""
    chunks = []
    with socket.socket(fileno=os.dup(fd)) as sock:
        sock.setblocking(False)
        while True:
            try:
                data = sock.recv(READ_SIZE)
            except OSError:  # nothing more (BlockingIOError), or the reset itself
                break
            if not data:
                break
            chunks.append(data)
    return chunks


async def open_connection(
    host: str, port: int, **kwargs: Any
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """:func:`asyncio.open_connection` with a :class:`ResetTolerantReader`.

    Args:
        host: The host to connect to.
        port: Its TCP port.
        kwargs: More :meth:`~asyncio.loop.create_connection` arguments (``ssl``,
            ``server_hostname``).
    """
    loop = asyncio.get_running_loop()
    reader = ResetTolerantReader(loop=loop)
    protocol = _ResetTolerantProtocol(reader, loop=loop)
    transport, _ = await loop.create_connection(lambda: protocol, host, port, **kwargs)
    return reader, asyncio.StreamWriter(transport, protocol, reader, loop)


async def start_server(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], object],
    host: str,
    port: int,
    **kwargs: Any,
) -> asyncio.Server:
    """:func:`asyncio.start_server` whose connections read through a :class:`ResetTolerantReader`.

    Args:
        handler: Called (or awaited, if it is a coroutine function) with each
            connection's reader and writer.
        host: The address to listen on.
        port: The TCP port, ``0`` for any free one.
        kwargs: More :meth:`~asyncio.loop.create_server` arguments.
    """
    loop = asyncio.get_running_loop()

    def connection() -> asyncio.StreamReaderProtocol:
        return _ResetTolerantProtocol(ResetTolerantReader(loop=loop), handler, loop=loop)

    return await loop.create_server(connection, host, port, **kwargs)
