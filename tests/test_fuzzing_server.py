"""The fuzzing server speaks Autobahn's fuzzingserver protocol, and real clients pass it.

The testees are Autobahn-style echo clients, written as Autobahn's own
examples are: ``/getCaseCount``, then ``/runCase?case=N&agent=A`` for each case
(echoing every message until the connection closes), then ``/updateReports``.
Our asyncio and sync clients, and the ``websockets`` library's, must get OK on
every case; a client that does not echo must get FAILED. Node's ``ws`` runs the
same loop in ``tests/interop/test_interop_fuzzing_client.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest
from asyncio_helpers import async_test
from fuzzing_helpers import CASES, CLIENT_CASES, describe_failures, fuzzing_server

from wsproto_core.asyncio import ConnectionClosed, HandshakeRejected, connect
from wsproto_core.sync import connect as sync_connect
from wsproto_core.testing.cases import received_pong
from wsproto_core.testing.fuzzing_server import serve_fuzzing

if TYPE_CHECKING:
    from wsproto_core.testing.fuzzing_server import FuzzingServer

AGENT = "wsproto_core asyncio \u2713"


def assert_all_ok(server: FuzzingServer, agent: str) -> None:
    results = server.results(agent)
    assert [r.case.id for r in results] == [c.id for c in CLIENT_CASES]
    assert all(r.verdict == "OK" for r in results), describe_failures(results)


async def command(url: str) -> tuple[list[str | bytes], int | None]:
    """Open ``url`` with our client, read until the server closes: the messages and close code."""
    ws = await connect(url, compression=None)
    messages: list[str | bytes] = []
    with contextlib.suppress(ConnectionClosed):
        async for message in ws:
            messages.append(message)
    await ws.wait_closed()
    return messages, ws.close_code


async def http_status(port_url: str, request_line: str, upgrade: bool = True) -> bytes:
    """Send a raw request to the server and return its status line."""
    host, port = port_url.removeprefix("ws://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    headers = f"{request_line}\r\nHost: {host}\r\n"
    if upgrade:
        headers += (
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        )
    writer.write(f"{headers}\r\n".encode())
    status = await reader.readline()
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
    return status.rstrip()


async def exchange(port_url: str, data: bytes) -> bytes:
    """Send raw bytes to the server and return all it sends back until it closes the stream."""
    host, port = port_url.removeprefix("ws://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(data)
    received = await reader.read()  # to EOF
    writer.close()
    return received


UPGRADE = (
    b"Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
)


# -- the testee clients: Autobahn's loop, in each client's own API --------------------


async def wsproto_asyncio_testee(url: str, agent: str) -> int:
    """Our asyncio client as an Autobahn echo testee; returns the case count it got."""
    async with connect(f"{url}/getCaseCount") as ws:
        count = int(await ws.recv())
        await ws.wait_closed()
    agent = quote(agent)
    for n in range(1, count + 1):
        ws = await connect(f"{url}/runCase?case={n}&agent={agent}")
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                await ws.send(message)
        await ws.wait_closed()
    async with connect(f"{url}/updateReports?agent={agent}") as ws:
        await ws.wait_closed()
    return count


def wsproto_sync_testee(url: str, agent: str) -> int:
    """Our sync client as an Autobahn echo testee; returns the case count it got."""
    with sync_connect(f"{url}/getCaseCount") as ws:
        count = int(ws.recv())
    agent = quote(agent)
    for n in range(1, count + 1):
        with (
            sync_connect(f"{url}/runCase?case={n}&agent={agent}") as ws,
            contextlib.suppress(ConnectionClosed),
        ):
            for message in ws:
                ws.send(message)
    with sync_connect(f"{url}/updateReports?agent={agent}") as ws:
        for _ in ws:
            pass
    return count


async def websockets_testee(url: str, agent: str) -> int:
    """The websockets library's client as an Autobahn echo testee (its compliance script's loop).

    A handshake it refuses (say, a permessage-deflate window it does not support)
    ends that case only: the server judges what it saw.
    """
    from websockets.asyncio.client import connect as ws_connect
    from websockets.exceptions import ConnectionClosed as WsClosed
    from websockets.exceptions import InvalidHandshake as WsRefused

    async with ws_connect(f"{url}/getCaseCount") as ws:
        count = json.loads(await ws.recv())
    for n in range(1, count + 1):
        with contextlib.suppress(WsRefused, WsClosed):
            async with ws_connect(f"{url}/runCase?case={n}&agent={quote(agent)}") as ws:
                async for message in ws:
                    await ws.send(message)
    async with ws_connect(f"{url}/updateReports?agent={quote(agent)}") as ws:
        with contextlib.suppress(WsClosed):
            await ws.wait_closed()
    assert isinstance(count, int)
    return count


# -- real clients pass ------------------------------------------------------------------


@async_test
async def test_our_asyncio_client_gets_ok_on_every_case() -> None:
    async with fuzzing_server() as (server, url):
        count = await wsproto_asyncio_testee(url, "wsproto_core-asyncio")
    assert count == len(CLIENT_CASES)
    assert_all_ok(server, "wsproto_core-asyncio")


@async_test
async def test_our_sync_client_gets_ok_on_every_case() -> None:
    async with fuzzing_server() as (server, url):
        count = await asyncio.to_thread(wsproto_sync_testee, url, "wsproto_core-sync")
    assert count == len(CLIENT_CASES)
    assert_all_ok(server, "wsproto_core-sync")


@async_test
async def test_websockets_client_gets_ok_except_non_strict_on_the_rsv_case() -> None:
    async with fuzzing_server() as (server, url):
        count = await websockets_testee(url, "websockets \u2713")
    assert count == len(CLIENT_CASES)
    results = server.results("websockets \u2713")
    assert [r.case.id for r in results] == [c.id for c in CLIENT_CASES]
    # websockets fails the connection on the RSV frame read in the same chunk as the
    # message before it, so that message's echo cannot be sent (Autobahn: NON-STRICT).
    rsv = results[3]
    assert rsv.case.id == "t.4"
    assert rsv.behaviour in ("OK", "NON-STRICT"), describe_failures([rsv])
    assert (rsv.close_behaviour, rsv.testee_close) == ("OK", (1002, "reserved bits must be 0"))
    others = results[:3] + results[4:]
    assert all(r.verdict == "OK" for r in others), describe_failures(others)


@async_test
async def test_a_client_that_does_not_echo_fails_the_echo_cases() -> None:
    async with fuzzing_server(timeout=0.2) as (server, url):
        for n in (1, 3):  # t.1 and t.3
            ws = await connect(f"{url}/runCase?case={n}&agent=mute", compression=None)
            with contextlib.suppress(ConnectionClosed):
                async for _ in ws:
                    pass
            await ws.wait_closed()
    echo, fragmented = server.results("mute")
    assert (echo.case.id, echo.behaviour, echo.close_behaviour) == ("t.1", "FAILED", "OK")
    assert "#1 (text (18 bytes)" in echo.behaviour_reason
    # The client (its core) still answers the ping: only the message is missing.
    assert (fragmented.case.id, fragmented.behaviour) == ("t.3", "FAILED")
    assert fragmented.received == [received_pong(b"inside")]


@async_test
async def test_a_client_that_closes_at_once_fails_the_case() -> None:
    async with fuzzing_server() as (server, url):
        ws = await connect(f"{url}/runCase?case=1&agent=quitter", compression=None)
        await ws.close(1000)
    [result] = server.results("quitter")
    assert result.behaviour == "FAILED"
    assert result.close_behaviour == "FAILED"
    assert "should not have" in result.close_reason


# -- the protocol -------------------------------------------------------------------


@async_test
async def test_get_case_count_counts_only_client_cases_and_closes_normally() -> None:
    async with fuzzing_server() as (_, url):
        messages, code = await command(f"{url}/getCaseCount")
    assert messages == [str(len(CLIENT_CASES))]
    assert len(CLIENT_CASES) == len(CASES) - 1
    assert code == 1000


@async_test
async def test_get_case_info_names_the_nth_client_case() -> None:
    async with fuzzing_server() as (_, url):
        messages, code = await command(f"{url}/getCaseInfo?case=4")
    assert isinstance(messages[0], str)
    assert json.loads(messages[0]) == {
        "id": "t.4",
        "description": CASES[3].description,
        "expectation": CASES[3].expectation,
    }
    assert code == 1000


@async_test
async def test_run_case_by_casetuple_plays_the_case_with_that_id() -> None:
    async with fuzzing_server() as (server, url):
        ws = await connect(f"{url}/runCase?casetuple=t.2&agent=a", compression=None)
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                await ws.send(message)
        await ws.wait_closed()
    assert [(r.case.id, r.verdict) for r in server.results("a")] == [("t.2", "OK")]


@async_test
async def test_get_case_status_waits_for_the_run_then_gives_the_verdicts() -> None:
    async with fuzzing_server() as (_, url):
        status = asyncio.ensure_future(command(f"{url}/getCaseStatus?case=1&agent=later"))
        ws = await connect(f"{url}/runCase?case=1&agent=later", compression=None)
        assert not status.done()  # the result comes only once the run ends
        async for message in ws:
            await ws.send(message)
        messages, code = await status
    assert isinstance(messages[0], str)
    answer = json.loads(messages[0])
    assert (answer["behavior"], answer["behaviorClose"], code) == ("OK", "OK", 1000)
    assert "as expected" in answer["result"]


@async_test
async def test_a_case_run_again_keeps_only_the_latest_result() -> None:
    async with fuzzing_server() as (server, url):
        ws = await connect(f"{url}/runCase?case=1&agent=twice", compression=None)
        await ws.close()
        ws = await connect(f"{url}/runCase?case=1&agent=twice", compression=None)
        async for message in ws:
            await ws.send(message)
        messages, _ = await command(f"{url}/getCaseStatus?case=1&agent=twice")
    assert [r.verdict for r in server.results("twice")] == ["OK"]
    assert server.agents() == ["twice"]
    assert server.result("twice", "t.1") is server.results("twice")[0]
    assert isinstance(messages[0], str)
    assert json.loads(messages[0])["behavior"] == "OK"


@pytest.mark.parametrize(
    ("target", "status"),
    [
        ("/nowhere", b"404"),
        ("/runCase?case=1", b"400"),  # no agent
        ("/runCase?agent=a", b"400"),  # no case
        ("/runCase?case=one&agent=a", b"400"),
        ("/runCase?case=1&case=2&agent=a", b"400"),
        ("/runCase?case=0&agent=a", b"404"),
        ("/runCase?case=6&agent=a", b"404"),  # 5 client cases
        ("/runCase?casetuple=t.server&agent=a", b"404"),
        ("/getCaseInfo", b"400"),
        ("/getCaseStatus?case=1", b"400"),
        ("/updateReports", b"400"),
        ("/updateReports?agent=", b"400"),
    ],
)
@async_test
async def test_a_bad_request_gets_an_http_error(target: str, status: bytes) -> None:
    async with fuzzing_server() as (_, url):
        line = await http_status(url, f"GET {target} HTTP/1.1")
    assert line.split(b" ")[1] == status, line


@pytest.mark.parametrize(("target", "status"), [("/getCaseCount", b"426"), ("/x", b"404")])
@async_test
async def test_a_plain_http_request_is_refused(target: str, status: bytes) -> None:
    async with fuzzing_server() as (_, url):
        line = await http_status(url, f"GET {target} HTTP/1.1", upgrade=False)
    assert line.split(b" ")[1] == status, line


@async_test
async def test_our_client_sees_404_for_an_unknown_path() -> None:
    async with fuzzing_server() as (_, url):
        with pytest.raises(HandshakeRejected) as info:
            await connect(f"{url}/stopServer", compression=None)
    assert info.value.status == 404


@async_test
async def test_a_testee_that_sends_no_websocket_handshake_fails_the_case() -> None:
    async with fuzzing_server() as (server, url):
        host, port = url.removeprefix("ws://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET /runCase?case=1&agent=bad HTTP/1.1\r\nHost: x\r\n\r\n")
        status = await reader.readline()
        await reader.read()  # to the end: the server closes the stream
        writer.close()
    [result] = server.results("bad")
    assert status.split(b" ")[1] == b"426"  # Upgrade Required
    assert result.behaviour == "FAILED"
    assert result.behaviour_reason.startswith("invalid handshake")


@async_test
async def test_a_client_that_sends_no_request_is_dropped() -> None:
    async with fuzzing_server(timeout=0.05) as (server, url):
        host, port = url.removeprefix("ws://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET /getCaseCount HTTP/1.1\r\n")  # never the blank line
        assert await reader.read() == b""
        writer.close()
    assert server.agents() == []


@async_test
async def test_a_malformed_request_line_gets_400() -> None:
    async with fuzzing_server() as (_, url):
        answer = await exchange(url, b"NONSENSE\r\n" + UPGRADE + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")


@async_test
async def test_a_command_in_an_unsupported_version_gets_426() -> None:
    async with fuzzing_server() as (_, url):
        answer = await exchange(
            url, b"GET /getCaseCount HTTP/1.1\r\n" + UPGRADE + b"Sec-WebSocket-Version: 99\r\n\r\n"
        )
    assert answer.startswith(b"HTTP/1.1 426 ")
    assert b"Sec-WebSocket-Version: 13" in answer


@async_test
async def test_a_client_that_never_answers_the_close_is_cut_after_the_timeout() -> None:
    async with fuzzing_server(timeout=0.05) as (_, url):
        answer = await exchange(
            url, b"GET /getCaseCount HTTP/1.1\r\n" + UPGRADE + b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
    head, _, frames = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 ")
    count = str(len(CLIENT_CASES)).encode()
    assert frames == b"\x81" + bytes([len(count)]) + count + b"\x88\x02\x03\xe8"


@async_test
async def test_a_hixie76_request_without_its_key3_is_dropped() -> None:
    async with fuzzing_server(timeout=0.05) as (_, url):
        answer = await exchange(
            url,
            b"GET /getCaseCount HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: WebSocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\n"
            b"Sec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\n\r\n",
        )
    assert answer == b""


@async_test
async def test_a_hixie76_client_gets_the_case_count() -> None:
    async with fuzzing_server() as (_, url):
        ws = await connect(f"{url}/getCaseCount", version="hixie-76", compression=None)
        assert await ws.recv() == str(len(CLIENT_CASES))
        await ws.wait_closed()


# -- reports ------------------------------------------------------------------------


@pytest.fixture
def fake_report(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[Any], str, str]]:
    """Stand in for ``wsproto_core.testing.report``: record each ``write_report`` call."""
    calls: list[tuple[list[Any], str, str]] = []

    def write_report(results: list[Any], directory: str, *, title: str) -> Path:
        if "broken" in title:
            raise OSError("disk full \u2713" * 20)  # too long for a close reason
        calls.append((list(results), directory, title))
        return Path(directory) / "index.html"

    module = types.ModuleType("wsproto_core.testing.report")
    module.write_report = write_report  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "wsproto_core.testing.report", module)
    return calls


@async_test
async def test_update_reports_writes_the_agents_report_in_its_own_directory(
    tmp_path: Path, fake_report: list[tuple[list[Any], str, str]]
) -> None:
    async with fuzzing_server(report_dir=tmp_path) as (server, url):
        await wsproto_asyncio_testee(url, AGENT)
    [(results, directory, title)] = fake_report
    assert results == server.results(AGENT)
    assert len(results) == len(CLIENT_CASES)
    assert Path(directory) == tmp_path / "wsproto_core_asyncio"
    assert AGENT in title


@async_test
async def test_update_reports_closes_with_1011_when_the_report_fails(
    tmp_path: Path, fake_report: list[tuple[list[Any], str, str]]
) -> None:
    async with fuzzing_server(report_dir=tmp_path) as (_, url):
        messages, code = await command(f"{url}/updateReports?agent=broken")
    assert (messages, code, fake_report) == ([], 1011, [])


@async_test
async def test_update_reports_without_a_report_dir_only_closes(
    fake_report: list[tuple[list[Any], str, str]],
) -> None:
    async with fuzzing_server() as (_, url):
        messages, code = await command(f"{url}/updateReports?agent=a")
    assert (messages, code, fake_report) == ([], 1000, [])


@async_test
async def test_update_reports_writes_a_real_report(tmp_path: Path) -> None:
    pytest.importorskip("wsproto_core.testing.report")
    async with fuzzing_server(report_dir=tmp_path) as (_, url):
        await wsproto_asyncio_testee(url, "real")
    assert any((tmp_path / "real").iterdir())


# -- serve_fuzzing ------------------------------------------------------------------


@async_test
async def test_serve_fuzzing_reports_its_port_and_stops_when_told(tmp_path: Path) -> None:
    stop = asyncio.Event()
    port: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.ensure_future(
        serve_fuzzing(
            "127.0.0.1", 0, CASES, report_dir=str(tmp_path), ready=port.set_result, stop=stop
        )
    )
    url = f"ws://127.0.0.1:{await port}"
    messages, _ = await command(f"{url}/getCaseCount")
    # A status request for a case never run waits; stopping the server cuts it.
    waiting = await connect(f"{url}/getCaseStatus?case=2&agent=nobody", compression=None)
    stop.set()
    await task
    with pytest.raises(ConnectionClosed):
        await waiting.recv()
    assert messages == [str(len(CLIENT_CASES))]


@async_test
async def test_serve_fuzzing_stops_listening_when_stopped() -> None:
    stop = asyncio.Event()
    stop.set()
    ports: list[int] = []
    await serve_fuzzing("127.0.0.1", 0, CASES, ready=ports.append, stop=stop)
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", ports[0])


@async_test
async def test_serve_fuzzing_runs_until_cancelled() -> None:
    port: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.ensure_future(serve_fuzzing("localhost", 0, CASES, ready=port.set_result))
    messages, _ = await command(f"ws://localhost:{await port}/getCaseCount")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert messages == [str(len(CLIENT_CASES))]
