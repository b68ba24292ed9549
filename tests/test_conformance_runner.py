"""The network runner: cases played against live servers over loopback, plain and TLS."""

from __future__ import annotations

import asyncio
import socket
import ssl
from typing import TYPE_CHECKING

import pytest
from asyncio_helpers import async_test
from runner_helpers import (
    SMOKE,
    accept,
    echo_server_thread,
    raw_server,
    reversed_echo,
    smoke,
)

from wsproto_core.asyncio import serve
from wsproto_core.errors import InvalidURI
from wsproto_core.examples import EchoHandler
from wsproto_core.testing import runner
from wsproto_core.testing.cases import Case, Send, received_text
from wsproto_core.testing.runner import (
    run_case,
    run_cases,
    run_server_suite,
    server_cases,
)
from wsproto_core.testing.wire import text

if TYPE_CHECKING:
    from pathlib import Path

    from wsproto_core.testing.engine import CaseResult

QUICK = 0.3
"""Seconds to wait for a testee that will not answer."""

CLIENT_ONLY = Case(
    "client.1",
    "A case for client testees",
    "-",
    steps=(Send((text("x"),)),),
    ok=(received_text("x"),),
    roles=frozenset({"client"}),
)


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def explain(result: CaseResult) -> str:
    log = "\n".join(f"  {w.at:8.3f} {w.direction:4} {w.text}" for w in result.wire)
    return (
        f"{result.case.id}: behaviour {result.behaviour} ({result.behaviour_reason}), "
        f"close {result.close_behaviour} ({result.close_reason})\n{log}"
    )


# -- our server passes ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", SMOKE, ids=[case.id for case in SMOKE])
@async_test
async def test_our_asyncio_echo_server_passes_the_smoke_case(case: Case) -> None:
    async with serve(EchoHandler(), port=0) as server:
        result = await run_case(f"ws://127.0.0.1:{server.port}/echo", case)
    assert result.verdict == "OK", explain(result)
    assert result.testee == "server"
    assert result.wire[0].text.startswith("GET /echo HTTP/1.1")


@async_test
async def test_run_cases_plays_each_case_in_order_and_reports_each_result_at_once() -> None:
    seen: list[str] = []
    async with serve(EchoHandler(), port=0) as server:
        results = await run_cases(
            f"ws://127.0.0.1:{server.port}/",
            SMOKE,
            on_result=lambda result: seen.append(result.case.id),
        )
    assert [r.case.id for r in results] == [c.id for c in SMOKE] == seen
    assert {r.verdict for r in results} == {"OK"}


@async_test
async def test_run_cases_refuses_cases_for_client_testees_before_playing_any() -> None:
    played: list[CaseResult] = []
    with pytest.raises(ValueError, match=r"client testee only: client\.1"):
        await run_cases(
            f"ws://127.0.0.1:{free_port()}/", [*SMOKE, CLIENT_ONLY], on_result=played.append
        )
    assert played == []


@async_test
async def test_a_url_that_is_not_a_websocket_url_raises() -> None:
    with pytest.raises(InvalidURI):
        await run_case("http://127.0.0.1/", smoke("smoke.1"))


# -- a testee that breaks the rules, or is not there ---------------------------------------------


@async_test
async def test_a_wrong_echo_fails_with_the_difference() -> None:
    async with raw_server(reversed_echo) as port:
        result = await run_case(f"ws://127.0.0.1:{port}/", smoke("smoke.1"))
    assert result.behaviour == "FAILED"
    assert result.behaviour_reason == (
        "#1: expected text (5 bytes) b'Hello', got text (5 bytes) b'olleH'"
    )
    assert result.close_behaviour == "OK", explain(result)


@async_test
async def test_a_refused_connection_is_a_failed_result_saying_so() -> None:
    port = free_port()
    result = await run_case(f"ws://127.0.0.1:{port}/", smoke("smoke.1"))
    assert result.verdict == "FAILED"
    assert result.behaviour_reason == f"cannot connect to 127.0.0.1:{port}: connection refused"
    assert [w.text for w in result.wire] == [result.behaviour_reason]


async def close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def reset_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    writer.transport.abort()  # SO_LINGER 0: a RST, not a FIN


@pytest.mark.parametrize("testee", [close_at_once, reset_at_once], ids=["closed", "reset"])
@async_test
async def test_a_connection_ended_before_the_handshake_answer_is_a_failed_result(
    testee: object,
) -> None:
    async with raw_server(testee) as port:  # type: ignore[arg-type]
        result = await run_case(f"ws://127.0.0.1:{port}/", smoke("smoke.1"))
    assert result.verdict == "FAILED"
    assert result.behaviour_reason == "the testee closed the connection during the handshake"


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # until the peer leaves; never answers


async def no_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await accept(reader, writer)
    await reader.read()


@async_test
async def test_a_server_that_never_answers_the_handshake_fails_after_the_timeout() -> None:
    loop = asyncio.get_running_loop()
    async with raw_server(silent) as port:
        started = loop.time()
        result = await run_case(f"ws://127.0.0.1:{port}/", smoke("smoke.1"), timeout=QUICK)
    assert result.behaviour_reason == "no handshake answer in time"
    assert QUICK <= loop.time() - started < QUICK + 2


@async_test
async def test_a_server_that_never_echoes_fails_within_its_timeouts() -> None:
    loop = asyncio.get_running_loop()
    async with raw_server(no_echo) as port:
        started = loop.time()
        result = await run_case(f"ws://127.0.0.1:{port}/", smoke("smoke.1"), timeout=QUICK)
    assert result.behaviour == "FAILED"
    assert "never came" in result.behaviour_reason
    assert result.close_behaviour == "FAILED"  # nor did it answer the close
    assert loop.time() - started < 4 * QUICK + 2


# -- wss:// --------------------------------------------------------------------------------------


def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


@async_test
async def test_wss_with_a_context_that_trusts_the_server_passes(
    tls_certificate: tuple[Path, Path],
) -> None:
    client = ssl.create_default_context(cafile=str(tls_certificate[0]))
    async with serve(EchoHandler(), port=0, ssl=server_tls(tls_certificate)) as server:
        url = f"wss://127.0.0.1:{server.port}/"
        results = await run_cases(url, SMOKE[:2], ssl_context=client)
    assert [r.verdict for r in results] == ["OK", "OK"], explain(results[0])


@async_test
async def test_wss_checks_the_certificate_by_default(tls_certificate: tuple[Path, Path]) -> None:
    async with serve(EchoHandler(), port=0, ssl=server_tls(tls_certificate)) as server:
        port = server.port
        result = await run_case(f"wss://127.0.0.1:{port}/", smoke("smoke.1"))
    assert result.verdict == "FAILED"
    assert result.behaviour_reason == (
        f"cannot connect to 127.0.0.1:{port}: TLS error: self-signed certificate"
    )


# -- choosing cases, and the synchronous wrapper -------------------------------------------------


@pytest.fixture
def smoke_catalogue(monkeypatch: pytest.MonkeyPatch) -> list[Case]:
    """The catalogue is the smoke cases and a case for clients only."""
    cases = [*SMOKE, CLIENT_ONLY]
    monkeypatch.setattr(runner, "catalogue", lambda options: cases)
    return cases


@pytest.mark.usefixtures("smoke_catalogue")
def test_server_cases_are_the_catalogues_cases_for_servers_that_match() -> None:
    assert [c.id for c in server_cases()] == [c.id for c in SMOKE]
    assert [c.id for c in server_cases(["smoke.1", "client.*"])] == ["smoke.1"]
    assert [c.id for c in server_cases(["smoke"], ["smoke.[2-6]"])] == ["smoke.1", "smoke.7"]


def test_server_cases_pass_scale_and_max_size_to_the_catalogue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[object] = []
    monkeypatch.setattr(runner, "catalogue", lambda options: seen.append(options) or [])
    server_cases(scale=0.5, max_size=1000)
    assert seen == [runner.CatalogueOptions(scale=0.5, max_size=1000)]


@pytest.mark.usefixtures("smoke_catalogue")
def test_run_server_suite_plays_the_chosen_cases_from_synchronous_code() -> None:
    seen: list[str] = []
    with echo_server_thread() as server:
        results = run_server_suite(
            server.url("/echo"),
            ("smoke",),
            ("smoke.6",),
            on_result=lambda r: seen.append(r.case.id),
        )
    assert [r.case.id for r in results] == seen == [
        "smoke.1", "smoke.2", "smoke.3", "smoke.4", "smoke.5", "smoke.7"
    ]  # fmt: skip
    assert {r.verdict for r in results} == {"OK"}


@async_test
async def test_run_server_suite_refuses_to_block_a_running_event_loop() -> None:
    with pytest.raises(RuntimeError, match="await run_cases"):
        run_server_suite("ws://127.0.0.1:1/")


async def speaks_plain_text(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    await writer.drain()
    writer.close()


@async_test
async def test_wss_to_a_server_without_tls_says_the_tls_handshake_failed() -> None:
    async with raw_server(speaks_plain_text) as port:
        result = await run_case(f"wss://127.0.0.1:{port}/", smoke("smoke.1"))
    assert result.behaviour_reason == (
        f"cannot connect to 127.0.0.1:{port}: TLS error: wrong version number"
    )


@pytest.mark.parametrize(
    ("exc", "why"),
    [
        (asyncio.TimeoutError(), "no connection within 1.5 s"),
        (OSError("no route"), "no route"),
        (ConnectionResetError(), "ConnectionResetError"),
    ],
)
def test_connect_failure_says_why_in_words(exc: BaseException, why: str) -> None:
    uri = runner.parse_uri("ws://[::1]:9001/")
    assert runner.connect_failure(uri, exc, 1.5) == f"cannot connect to [::1]:9001: {why}"
