"""The command line: ``serve`` as a subprocess, ``connect`` in a pipe, ``demo``, errors, help."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest
from asyncio_helpers import async_test

from wsproto_core.__main__ import _parser, main
from wsproto_core.asyncio import ConnectionClosedOK, HandshakeRejected, connect
from wsproto_core.extensions import PerMessageDeflate

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

PYTHON = [sys.executable, "-m", "wsproto_core"]
WAIT = 60
"""Seconds a subprocess may take to answer or exit: generous, for a loaded machine."""
FLAVOURS = {"asyncio": (), "threads": ("--threads",), "workers": ("--workers", "2")}
"""The ways ``serve`` can run, by test id."""


class ServeProcess:
    """``python -m wsproto_core serve --port 0 ...`` running, with the URL it printed."""

    def __init__(self, *options: str, scheme: str = "http") -> None:
        self.process = subprocess.Popen(
            [*PYTHON, "serve", "--port", "0", *options],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        match = re.fullmatch(rf"serving on {scheme}://127\.0\.0\.1:(\d+)/\n", line)
        if not match:
            self.process.kill()
            _, err = self.process.communicate()
            raise AssertionError(f"unexpected first line {line!r}; stderr:\n{err}")
        self.port = int(match.group(1))
        self.terminated = False

    def url(self, path: str, scheme: str = "ws") -> str:
        """The URL of ``path`` on this server."""
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def terminate(self) -> None:
        """Send SIGTERM, once."""
        if not self.terminated:
            self.terminated = True
            self.process.send_signal(signal.SIGTERM)

    def stop(self) -> tuple[int, str]:
        """SIGTERM; return the exit status and what went to stderr."""
        self.terminate()
        _, err = self.process.communicate(timeout=WAIT)
        return self.process.returncode, err


@contextmanager
def closing_serve(*options: str) -> Iterator[ServeProcess]:
    """``serve --port 0 OPTIONS`` for the block, killed after it if still running."""
    proc = ServeProcess(*options)
    try:
        yield proc
    finally:
        if proc.process.poll() is None:
            proc.process.kill()
            proc.process.communicate()


@pytest.fixture(params=["asyncio", "threads"])
def server(request: pytest.FixtureRequest) -> Iterator[ServeProcess]:
    proc = ServeProcess(*(["--threads"] if request.param == "threads" else []))
    yield proc
    if proc.process.poll() is None:
        proc.process.kill()
        proc.process.wait()


def run_cli(*args: str) -> tuple[int, str]:
    """Run ``python -m wsproto_core ARGS`` with empty stdin; return its status and stderr."""
    result = subprocess.run(
        [*PYTHON, *args], input="", capture_output=True, text=True, timeout=WAIT
    )
    return result.returncode, result.stderr


def _default_sigint() -> None:
    """In the child: Ctrl-C as a terminal delivers it, even when this suite runs with SIGINT
    ignored (a background job of a non-interactive shell, as CI may run it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def connect_process(url: str, *options: str) -> tuple[subprocess.Popen[str], str]:
    """Start ``connect URL`` with stdin left open; return it once it printed its first line."""
    process = subprocess.Popen(
        [*PYTHON, "connect", *options, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )
    assert process.stderr is not None
    return process, process.stderr.readline()


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    """Wait for ``process`` to exit by itself (stdin still open); return its status and stderr."""
    assert process.stdin is not None and process.stderr is not None
    try:
        status = process.wait(timeout=WAIT)
    finally:
        if process.poll() is None:
            process.kill()
        process.stdin.close()
    return status, process.stderr.read()


@contextmanager
def port_in_use() -> Iterator[int]:
    """A port held by a listening socket."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock.getsockname()[1]


@contextmanager
def closed_port() -> Iterator[int]:
    """A port bound but not listening: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@contextmanager
def answering(response: bytes | None) -> Iterator[str]:
    """A one-shot server that reads a request and sends ``response`` (``None``: says nothing)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(WAIT)
    done = threading.Event()

    def run() -> None:
        with listener, listener.accept()[0] as sock:
            data = b""
            while b"\r\n\r\n" not in data:
                data += sock.recv(4096)
            if response is not None:
                sock.sendall(response)
            else:
                done.wait(WAIT)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"ws://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        done.set()
        thread.join(WAIT)


def error_line(stderr: str) -> str:
    """The one line of ``stderr``, checked to be a ``wsproto-core: error:`` line."""
    assert stderr.count("\n") == 1, stderr
    assert stderr.startswith("wsproto-core: error: "), stderr
    return stderr[len("wsproto-core: error: ") : -1]


# -- serve ------------------------------------------------------------------------------


@async_test
async def test_serve_echoes(server: ServeProcess) -> None:
    async with connect(server.url("/echo")) as ws:
        await ws.send("hi")
        assert await ws.recv() == "hi"
        await ws.send(b"\x01")
        assert await ws.recv() == b"\x01"


@async_test
async def test_serve_agrees_permessage_deflate_by_default(server: ServeProcess) -> None:
    async with connect(server.url("/echo")) as ws:
        assert [type(e) for e in ws.extensions] == [PerMessageDeflate]
        # The defaults: a 4 KiB window each way (the client offered client_max_window_bits).
        assert ws.extensions[0].local_max_window_bits == 12
        assert ws.extensions[0].remote_max_window_bits == 12
        await ws.send("x" * 10_000)
        assert await ws.recv() == "x" * 10_000


@async_test
async def test_serve_tunes_compression_from_its_options() -> None:
    options = ("--compression-window-bits", "9", "--compression-level", "1")
    with closing_serve(*options) as proc:
        async with connect(proc.url("/echo")) as ws:
            (deflate,) = ws.extensions
            assert isinstance(deflate, PerMessageDeflate)
            assert (deflate.local_max_window_bits, deflate.remote_max_window_bits) == (9, 9)
            await ws.send(b"\0" * 100_000)
            assert await ws.recv() == b"\0" * 100_000


@pytest.mark.parametrize("flavour", [(), ("--threads",)], ids=["asyncio", "threads"])
def test_serve_no_compression_agrees_no_extension(flavour: tuple[str, ...]) -> None:
    with closing_serve("--no-compression", *flavour) as proc:
        client, first = connect_process(proc.url("/echo"))
        assert first == "connected (version 13, subprotocol None, extensions None)\n"
        client.send_signal(signal.SIGINT)
        assert finish(client)[0] == 130


def test_connect_no_compression_offers_none(server: ServeProcess) -> None:
    client, first = connect_process(server.url("/echo"), "--no-compression")
    assert first == "connected (version 13, subprotocol None, extensions None)\n"
    client.send_signal(signal.SIGINT)
    assert finish(client)[0] == 130


@async_test
async def test_serve_counts_on_dumb_increment_and_resets(server: ServeProcess) -> None:
    async with connect(
        server.url("/dumb-increment"), subprotocols=["dumb-increment-protocol"]
    ) as ws:
        assert [await ws.recv() for _ in range(3)] == ["0", "1", "2"]
        await ws.send("reset\n")
        values = [int(await ws.recv()) for _ in range(10)]
        restart = values.index(0)  # a few sent before the reset may come first
        assert values[restart:] == list(range(10 - restart))


@async_test
async def test_serve_refuses_dumb_increment_without_the_subprotocol(server: ServeProcess) -> None:
    with pytest.raises(HandshakeRejected) as info:
        await connect(server.url("/dumb-increment"))
    assert info.value.status == 403


def test_serve_serves_the_demo_pages(server: ServeProcess) -> None:
    for path, marker in [
        ("/", b'id="pages"'),
        ("/echo.html", b'id="log"'),
        ("/increment.html", b'id="counter"'),
    ]:
        with urllib.request.urlopen(server.url(path, "http"), timeout=WAIT) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "text/html; charset=utf-8"
            assert marker in response.read()


def test_serve_answers_unknown_paths_with_404(server: ServeProcess) -> None:
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(server.url("/missing", "http"), timeout=WAIT)
    assert info.value.code == 404


def test_serve_answers_the_favicon_with_204_and_logs_no_404(server: ServeProcess) -> None:
    with urllib.request.urlopen(server.url("/favicon.ico", "http"), timeout=WAIT) as response:
        assert response.status == 204
        assert response.read() == b""
    status, err = server.stop()
    assert status == 0, err
    # Both adapters write plain HTTP requests with the same log_connection line.
    [line] = [line for line in err.splitlines() if "/favicon.ico" in line]
    assert re.search(r" /favicon\.ico version=GET status=204 subprotocol=None close=None$", line)
    assert "status=404" not in err


@async_test
async def test_sigterm_closes_clients_with_1001_and_exits_cleanly(server: ServeProcess) -> None:
    async with connect(server.url("/echo")) as ws:
        await ws.send("x")
        await ws.recv()
        server.terminate()
        with pytest.raises(ConnectionClosedOK) as info:
            await ws.recv()
        assert info.value.code == 1001
    status, _ = await asyncio.get_running_loop().run_in_executor(None, server.stop)
    assert status == 0


def _blocked_signals(pid: int, tid: int) -> set[int]:
    """The signals thread ``tid`` of process ``pid`` blocks, from /proc (Linux)."""
    with open(f"/proc/{pid}/task/{tid}/status") as status:
        mask = next(int(line.split()[1], 16) for line in status if line.startswith("SigBlk:"))
    return {number for number in range(1, 65) if mask >> (number - 1) & 1}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_threads_serve_leaves_sigint_and_sigterm_to_the_main_thread() -> None:
    # The kernel gives a process's signal to any thread that does not block it; the
    # main thread, waiting in Event.wait(), would not run the handler of a signal
    # another thread took, and SIGTERM would not stop the server (seen once in CI).
    from wsproto_core.sync import connect as sync_connect

    with closing_serve("--threads") as proc:
        pid = proc.process.pid
        with sync_connect(proc.url("/echo")) as ws:
            ws.send("x")
            assert ws.recv() == "x"  # a connection thread serves it now
            threads = {int(tid) for tid in os.listdir(f"/proc/{pid}/task")}
            assert len(threads) >= 3, threads  # main, the accept loop, the connection
            for tid in threads:
                stop = {signal.SIGINT, signal.SIGTERM} & _blocked_signals(pid, tid)
                assert stop == (set() if tid == pid else {signal.SIGINT, signal.SIGTERM}), tid
        status, _ = proc.stop()
    assert status == 0


@pytest.mark.parametrize("flavour", [(), ("--threads",)], ids=["asyncio", "threads"])
def test_serve_logs_a_line_per_connection_without_trailing_spaces(
    flavour: tuple[str, ...],
) -> None:
    server = ServeProcess(*flavour)
    try:

        async def three() -> None:
            async with connect(server.url("/echo?q=1"), subprotocols=["x"]) as ws:
                await ws.close(4000, "later")
            async with connect(server.url("/echo")) as ws:
                await ws.close()  # 1000 without a reason
            with pytest.raises(HandshakeRejected):
                await connect(server.url("/dumb-increment"))

        asyncio.run(three())
    finally:
        status, err = server.stop()
    assert status == 0
    lines = err.splitlines()
    assert [line for line in lines if line != line.rstrip()] == []
    for logged in [
        r"/echo version=13 status=101 subprotocol=None close=4000 later",
        r"/echo version=13 status=101 subprotocol=None close=1000",
        r"/dumb-increment version=13 status=403 subprotocol=None close=None",
    ]:
        assert any(re.search(f" {logged}$", line) for line in lines), (logged, err)


def test_serve_workers_share_the_port() -> None:
    server = ServeProcess("--workers", "2")
    try:

        async def several() -> None:
            for _ in range(4):
                async with connect(server.url("/echo")) as ws:
                    await ws.send("w")
                    assert await ws.recv() == "w"

        asyncio.run(several())
    finally:
        status, err = server.stop()
    assert status == 0, err


def test_serve_over_tls(tls_certificate: tuple[Path, Path]) -> None:
    cert, key = tls_certificate
    server = ServeProcess("--tls-cert", str(cert), "--tls-key", str(key), scheme="https")
    try:

        async def secure_echo() -> None:
            context = ssl.create_default_context(cafile=str(cert))
            async with connect(server.url("/echo", "wss"), ssl=context) as ws:
                await ws.send("over tls")
                assert await ws.recv() == "over tls"

        asyncio.run(secure_echo())
    finally:
        status, err = server.stop()
    assert status == 0, err


# -- serve: failures are one line and status 1 ------------------------------------------


@pytest.mark.parametrize("flavour", FLAVOURS.values(), ids=FLAVOURS.keys())
def test_serve_on_a_port_in_use_says_so(flavour: tuple[str, ...]) -> None:
    with port_in_use() as port:
        status, err = run_cli("serve", "--port", str(port), *flavour)
    assert status == 1
    assert error_line(err) == f"cannot listen on 127.0.0.1:{port}: address already in use"


@pytest.mark.parametrize("flavour", FLAVOURS.values(), ids=FLAVOURS.keys())
def test_serve_on_a_host_that_does_not_resolve_says_so(flavour: tuple[str, ...]) -> None:
    status, err = run_cli("serve", "--host", "no-such-host.invalid", *flavour)
    assert status == 1
    # The resolver's words vary ("name or service not known", "temporary failure ...").
    assert re.fullmatch(r"cannot listen on no-such-host\.invalid:8765: \w.*", error_line(err))


@pytest.mark.parametrize("flavour", FLAVOURS.values(), ids=FLAVOURS.keys())
def test_serve_with_missing_tls_files_says_so(flavour: tuple[str, ...], tmp_path: Path) -> None:
    cert, key = tmp_path / "missing.pem", tmp_path / "missing-key.pem"
    status, err = run_cli("serve", "--tls-cert", str(cert), "--tls-key", str(key), *flavour)
    assert status == 1
    assert error_line(err) == (
        f"cannot load the TLS certificate {cert} and key {key}: no such file or directory"
    )


def test_serve_with_a_file_that_is_not_a_certificate_says_so(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    status, err = run_cli("serve", "--tls-cert", str(junk), "--tls-key", str(junk))
    assert status == 1
    assert error_line(err).startswith(
        f"cannot load the TLS certificate {junk} and key {junk}: not a PEM certificate and its key"
    )


# -- usage errors: one line and status 2 ------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["connect", "http://x/"],
            "argument url: 'http://x/' is not a valid WebSocket URI: "
            "the scheme must be ws or wss; did you mean 'ws://x/'?",
        ),
        (
            ["connect", "https://x/"],
            "argument url: 'https://x/' is not a valid WebSocket URI: "
            "the scheme must be ws or wss; did you mean 'wss://x/'?",
        ),
        (
            ["connect", "localhost:8765"],
            "argument url: 'localhost:8765' is not a valid WebSocket URI: "
            "the scheme must be ws or wss; did you mean 'ws://localhost:8765'?",
        ),
        (
            ["connect", "ftp://x/"],
            "argument url: 'ftp://x/' is not a valid WebSocket URI: the scheme must be ws or wss",
        ),
        (
            ["connect", "http://x/#top"],  # no hint: 'ws://x/#top' is not valid either
            "argument url: 'http://x/#top' is not a valid WebSocket URI: "
            "the scheme must be ws or wss",
        ),
        (
            ["connect", "ws://127.0.0.1:99999/"],
            "argument url: 'ws://127.0.0.1:99999/' is not a valid WebSocket URI: "
            "port out of range 0-65535",
        ),
        (["serve", "--port", "70000"], "argument --port: port 70000 is out of range 0-65535"),
        (
            ["serve", "--compression-level", "10"],
            "argument --compression-level: expected -1 to 9, got '10'",
        ),
        (
            ["serve", "--compression-window-bits", "7"],
            "argument --compression-window-bits: expected 8 to 15, got '7'",
        ),
        (
            ["serve", "--compression-mem-level", "x"],
            "argument --compression-mem-level: expected 1 to 9, got 'x'",
        ),
        (["serve", "--port", "-1"], "argument --port: port -1 is out of range 0-65535"),
        (
            ["serve", "--threads", "--port", "70000"],
            "argument --port: port 70000 is out of range 0-65535",
        ),
        (["serve", "--port", "http"], "argument --port: 'http' is not a port number"),
        (
            ["connect", "--version", "99", "ws://x/"],
            "argument --version: invalid choice: '99' "
            "(choose from '13', '8', '7', 'hixie-76', 'hixie-75')",
        ),
        (
            ["connect", "--version", "hixie", "ws://x/"],
            "argument --version: invalid choice: 'hixie' "
            "(choose from '13', '8', '7', 'hixie-76', 'hixie-75')",
        ),
        (
            ["serve", "--max-message-size", "1MB"],
            "argument --max-message-size: expected a positive integer, got '1MB'",
        ),
        (
            ["serve", "--max-message-size", "-1"],
            "argument --max-message-size: expected a positive integer, got '-1'",
        ),
        (["serve", "--workers", "0"], "argument --workers: expected a positive integer, got '0'"),
        (["serve", "--tls-cert", "cert.pem"], "--tls-cert and --tls-key go together"),
        (
            ["serve", "--stats-interval", "0"],
            "argument --stats-interval: expected a positive number of seconds, got '0'",
        ),
        (
            ["serve", "--stats-path", "stats"],
            "argument --stats-path: expected a path starting with '/', got 'stats'",
        ),
        (
            ["connect", "--subprotocol", "two words", "ws://127.0.0.1:1/"],
            "subprotocol 'two words' is not a token",
        ),
        (
            [
                "connect",
                "--version",
                "hixie-76",
                "--subprotocol",
                "a",
                "--subprotocol",
                "b",
                "ws://x/",
            ],
            "the hixie drafts offer a single subprotocol",
        ),
        (
            [],
            "a command is needed: serve, connect, demo or conformance (see 'wsproto-core --help')",
        ),
        (
            ["listen"],
            "argument COMMAND: invalid choice: 'listen' "
            "(choose from 'serve', 'connect', 'demo', 'conformance')",
        ),
        (["connect"], "the following arguments are required: url"),
        (["serve", "--verbose"], "unrecognized arguments: --verbose"),
        (
            ["serve", "--broker", "localhost:6379"],
            "argument --broker: not a Redis URL (redis://HOST:PORT/DB): 'localhost:6379'",
        ),
    ],
)
def test_usage_error_is_one_line_and_status_2(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert error_line(captured.err) == expected


def test_usage_error_in_a_real_process_has_no_traceback() -> None:
    status, err = run_cli("connect", "localhost:8765")
    assert status == 2
    assert "did you mean 'ws://localhost:8765'?" in error_line(err)


# -- connect ----------------------------------------------------------------------------


def test_connect_sends_stdin_lines_and_prints_replies(server: ServeProcess) -> None:
    result = subprocess.run(
        [*PYTHON, "connect", server.url("/echo")],
        input="first\nsecond\n",
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "first\nsecond\n"
    assert "closed 1000" in result.stderr


def test_connect_shows_the_refusal_status_and_reason() -> None:
    server = ServeProcess()
    try:
        status, err = run_cli("connect", server.url("/dumb-increment"))
    finally:
        server.stop()
    assert status == 1
    assert error_line(err) == (
        "connection failed: HTTP 403: the dumb-increment-protocol subprotocol is required"
    )


def test_connect_to_a_host_that_does_not_resolve_says_so() -> None:
    status, err = run_cli("connect", "ws://no-such-host.invalid/")
    assert status == 1
    assert re.fullmatch(r"connection failed: no-such-host\.invalid:80: \w.*", error_line(err))


def test_connect_to_a_closed_port_says_refused() -> None:
    with closed_port() as port:
        status, err = run_cli("connect", f"ws://127.0.0.1:{port}/")
    assert status == 1
    assert error_line(err) == f"connection failed: 127.0.0.1:{port}: connection refused"


def test_connect_over_tls_to_a_plain_server_says_tls_failed() -> None:
    server = ServeProcess()
    try:
        status, err = run_cli("connect", server.url("/echo", "wss"))
    finally:
        server.stop()
    assert status == 1
    # OpenSSL's words vary by version ("wrong version number", "record layer failure").
    assert re.fullmatch(
        rf"connection failed: 127\.0\.0\.1:{server.port}: TLS error: \w.*", error_line(err)
    )


def test_connect_to_an_untrusted_certificate_says_why(tls_certificate: tuple[Path, Path]) -> None:
    cert, key = tls_certificate
    server = ServeProcess("--tls-cert", str(cert), "--tls-key", str(key), scheme="https")
    try:
        status, err = run_cli("connect", server.url("/echo", "wss"))
    finally:
        server.stop()
    assert status == 1
    assert re.fullmatch(
        rf"connection failed: 127\.0\.0\.1:{server.port}: TLS error: self[- ]signed certificate",
        error_line(err),
    )


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (
            b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 13\r\n\r\n"
            b"<h1>gone</h1>",
            "HTTP 404 Not Found",
        ),
        (b"HTTP/1.1 599 Odd\r\nContent-Length: 0\r\n\r\n", "HTTP 599"),
        (
            b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 16\r\n\r\nlog in\r\n\tfirst\x07\n",
            "HTTP 401: log in first?",
        ),
        (
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
            b"Content-Length: 1000\r\n\r\n" + b"x" * 1000,
            "HTTP 503: " + "x" * 197 + "...",
        ),
        (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: wrong\r\n\r\n",
            "invalid handshake from {where}: wrong or missing Sec-WebSocket-Accept",
        ),
    ],
    ids=["html-body", "no-body", "text-on-lines", "long-body", "bad-101"],
)
def test_connect_failure_is_one_readable_line(
    response: bytes, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with answering(response) as url:
        assert main(["connect", url]) == 1
    where = url.removeprefix("ws://").rstrip("/")
    assert error_line(capsys.readouterr().err) == "connection failed: " + expected.format(
        where=where
    )


def test_connect_gives_up_on_a_server_that_never_answers(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("wsproto_core.__main__.OPEN_TIMEOUT", 0.01)
    with answering(None) as url:
        assert main(["connect", url]) == 1
    where = url.removeprefix("ws://").rstrip("/")
    assert error_line(capsys.readouterr().err) == (
        f"connection failed: {where}: no handshake within 0.01 seconds"
    )


def test_connect_ends_when_the_server_closes_first(server: ServeProcess) -> None:
    client, first = connect_process(server.url("/echo"))
    assert first == "connected (version 13, subprotocol None, extensions permessage-deflate)\n"
    server.terminate()  # closes every client with 1001
    status, err = finish(client)
    assert status == 0, err
    assert err.startswith("closed 1001"), err


def test_connect_exits_quietly_on_ctrl_c(server: ServeProcess) -> None:
    client, first = connect_process(server.url("/echo"))
    assert first == "connected (version 13, subprotocol None, extensions permessage-deflate)\n"
    client.send_signal(signal.SIGINT)
    status, err = finish(client)
    assert status == 130
    assert err == ""


# -- demo -------------------------------------------------------------------------------


def test_demo_prints_the_whole_exchange(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "GET /chat HTTP/1.1" in out
    assert "HTTP/1.1 101 Switching Protocols" in out
    assert "TextMessage(data='Hello, server'" in out
    assert "Close(code=1000, reason='done'" in out
    assert "server: state CLOSED, close the TCP stream: True" in out


# -- help -------------------------------------------------------------------------------


def all_parsers() -> Iterator[argparse.ArgumentParser]:
    """The top-level parser and every subcommand's, depth first."""
    stack = [_parser()]
    while stack:
        parser = stack.pop()
        yield parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                stack.extend(action.choices.values())


def test_help_covers_every_command() -> None:
    assert sorted(p.prog for p in all_parsers()) == [
        "wsproto-core",
        "wsproto-core conformance",
        "wsproto-core connect",
        "wsproto-core demo",
        "wsproto-core serve",
    ]


def test_every_argument_has_help_and_shows_its_default() -> None:
    for parser in all_parsers():
        for action in parser._actions:
            name = action.option_strings or action.dest
            assert action.help, f"{parser.prog} {name} has no help"
            if action.default not in (None, False, argparse.SUPPRESS):
                assert "%(default)s" in action.help, f"{parser.prog} {name} hides its default"


def test_help_has_no_rest_markup() -> None:
    for parser in all_parsers():
        text = parser.format_help()
        assert parser.description, parser.prog
        assert "``" not in text, parser.prog
        assert not re.search(r":\w+:`", text), parser.prog


def test_help_says_what_the_program_is(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "sans-IO WebSocket library" in out
    for command in ("serve", "connect", "demo", "conformance"):
        assert re.search(rf"^    {command} +\w", out, re.M), command


@pytest.mark.parametrize("command", ["serve", "connect", "demo", "conformance"])
def test_each_command_has_help_with_defaults(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith(f"usage: wsproto-core {command}")
    if command == "serve":
        assert "(default: 127.0.0.1)" in out
        assert "(default: 8765)" in out
