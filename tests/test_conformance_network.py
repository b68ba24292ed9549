"""drive(): a case over a real stream ends at its timeouts, whatever the testee does."""

from __future__ import annotations

import asyncio
import time

from asyncio_helpers import async_test
from runner_helpers import SERVER, accept, raw_server

from wsproto_core.events import TextMessage
from wsproto_core.handshake import parse_uri
from wsproto_core.testing.cases import Case, Send, received_binary, received_text
from wsproto_core.testing.engine import CaseRun
from wsproto_core.testing.network import drive
from wsproto_core.testing.wire import binary, text

BIG = 32 * 2**20
"""More than loopback sockets buffer both ways: a write this big waits for the reader."""

QUICK = 0.3
"""The cases' wait, in seconds."""


async def play(port: int, case: Case, **options: float) -> CaseRun:
    uri = parse_uri(f"ws://127.0.0.1:{port}/")
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    run = CaseRun(case, "server", uri=uri)
    run.start()
    await drive(run, reader, writer, **options)
    return run


async def never_reads(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await accept(reader, writer)
    await asyncio.Event().wait()  # reads nothing more, answers nothing


async def pings_forever(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    conn = await accept(reader, writer)
    while not writer.is_closing():
        conn.ping(b"still here")
        writer.write(conn.data_to_send())
        await asyncio.sleep(QUICK / 10)


async def floods_then_echoes(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Write a huge message before reading anything; then echo text messages only."""
    conn = await accept(reader, writer)
    conn.send_binary(bytes(BIG))
    writer.write(conn.data_to_send())
    await writer.drain()
    while data := await reader.read(65536):
        conn.receive_data(data)
        for event in conn.events():
            if isinstance(event, TextMessage):
                conn.send_text(event.data)
        writer.write(conn.data_to_send())
        if conn.should_close_transport:
            break
    writer.close()


@async_test
async def test_a_testee_that_never_reads_does_not_hold_the_peer_past_its_timeouts() -> None:
    case = Case(
        "net.1",
        "a message bigger than the socket buffers",
        "echoed",
        steps=(Send((binary(bytes(BIG)),)),),
        ok=(received_binary(bytes(BIG)),),
        roles=SERVER,
        timeout=QUICK,
    )
    async with raw_server(never_reads) as port:
        started = time.monotonic()
        run = await play(port, case, flush_timeout=QUICK)
        took = time.monotonic() - started
    result = run.result()
    assert run.done
    assert result.behaviour == "FAILED"
    assert "never came" in result.behaviour_reason
    assert took < 10 * QUICK + 2


@async_test
async def test_the_peer_reads_while_its_writes_wait_so_neither_side_blocks_the_other() -> None:
    case = Case(
        "net.2",
        "a message bigger than the socket buffers, while the testee sends one as big",
        "the testee's message, then the echo of the text",
        steps=(Send((binary(bytes(BIG)),)), Send((text("done"),))),
        ok=(received_binary(bytes(BIG)), received_text("done")),  # its message, our echo
        roles=SERVER,
        timeout=5.0,
    )
    async with raw_server(floods_then_echoes) as port:
        run = await play(port, case)
    result = run.result()
    assert result.verdict == "OK", result.behaviour_reason


@async_test
async def test_a_testee_that_never_stops_talking_is_stopped_at_the_case_limit() -> None:
    case = Case(
        "net.3",
        "a text message",
        "echoed",
        steps=(Send((text("Hello"),)),),
        ok=(received_text("Hello"),),
        roles=SERVER,
        timeout=QUICK,
    )
    async with raw_server(pings_forever) as port:
        started = time.monotonic()
        run = await play(port, case, limit=4 * QUICK)
        took = time.monotonic() - started
    result = run.result()
    assert result.verdict == "FAILED"
    assert result.behaviour_reason == f"the case took longer than {4 * QUICK:g} s"
    assert 4 * QUICK <= took < 4 * QUICK + 2
