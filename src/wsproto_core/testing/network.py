"""Drive a :class:`~.engine.CaseRun` over an asyncio stream: the runners' one I/O loop."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .engine import CaseRun

__all__ = ["READ_SIZE", "drive"]

READ_SIZE = 1 << 16
"""The most bytes read at once."""


async def drive(run: CaseRun, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Play ``run`` to its end over ``reader`` and ``writer``, then close the stream.

    ``run`` must have been made with :func:`time.monotonic` as its clock (the
    default) and started. A reset or a failed write counts as the testee's end
    of the stream.
    """
    try:
        while True:
            try:
                for data in run.writes():
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                run.receive_data(b"")
            if run.done or run.close_transport:
                break
            wait = None if run.deadline is None else max(run.deadline - time.monotonic(), 0.0)
            try:
                data = await asyncio.wait_for(reader.read(READ_SIZE), wait)
            except asyncio.TimeoutError:
                run.on_deadline()
                continue
            except (ConnectionError, OSError):
                data = b""
            run.receive_data(data)
        for data in run.writes():
            writer.write(data)
        await _drain_quietly(writer)
    finally:
        writer.close()
        await _wait_closed_quietly(writer)


async def _drain_quietly(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        await writer.drain()


async def _wait_closed_quietly(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        await writer.wait_closed()
