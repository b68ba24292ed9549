"""Churn: thousands of connections opened and closed leave no file descriptor or task behind."""

from __future__ import annotations

import asyncio
import gc
import os
from typing import Any

import pytest
from asyncio_helpers import async_test, until

from wsproto_core.asyncio import Server, WebSocket, connect, serve
from wsproto_core.examples import EchoHandler

CONNECTIONS = 2000
CONCURRENCY = 50


def open_fds() -> int:
    """Count this process's descriptors, after collecting sockets earlier tests dropped."""
    gc.collect()
    return len(os.listdir("/proc/self/fd"))


async def echo(ws: WebSocket) -> None:
    async for message in ws:
        await ws.send(message)


async def churn(server: Server) -> None:
    url = f"ws://127.0.0.1:{server.port}/"
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(i: int) -> None:
        async with limit:
            ws = await connect(url, ping_interval=None)
            await ws.send(str(i))
            assert await ws.recv() == str(i)
            if i % 4 == 0:
                assert ws._transport is not None
                ws._transport.abort()  # no closing handshake: the server sees 1006
                await ws.wait_closed()
            else:
                await ws.close()

    await asyncio.gather(*(one(i) for i in range(CONNECTIONS)))


async def settle(server: Server, tasks_before: set[asyncio.Task[Any]], fds_before: int) -> None:
    """Wait (bounded by the test timeout) until every connection's task and socket is gone."""
    await until(lambda: not server.connections, "no connection left")
    await until(lambda: not asyncio.all_tasks() - tasks_before, "no task left")
    await until(lambda: open_fds() <= fds_before, "no socket left")


@pytest.mark.parametrize("mode", ["coroutine", "handler"])
@async_test
async def test_churn_leaves_no_file_descriptor_or_task_behind(mode: str) -> None:
    server = await serve(echo if mode == "coroutine" else EchoHandler(), port=0)
    gc.collect()  # sockets other tests left to the garbage collector go now, not mid-count
    fds_before = open_fds()
    tasks_before = asyncio.all_tasks()
    await churn(server)
    # A leaked task or socket (one per connection) never goes: the wait fails the test.
    await settle(server, tasks_before, fds_before)
    server.close()
    await server.wait_closed()
