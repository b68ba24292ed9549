"""The command line: ``serve`` as a subprocess, ``connect`` in a pipe, ``demo``."""

from __future__ import annotations

import asyncio
import re
import signal
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

import pytest
from asyncio_helpers import async_test

from wsproto_core.__main__ import main
from wsproto_core.asyncio import ConnectionClosedOK, HandshakeRejected, connect

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

PYTHON = [sys.executable, "-m", "wsproto_core"]


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
        _, err = self.process.communicate(timeout=15)
        return self.process.returncode, err


@pytest.fixture(params=["asyncio", "threads"])
def server(request: pytest.FixtureRequest) -> Iterator[ServeProcess]:
    proc = ServeProcess(*(["--threads"] if request.param == "threads" else []))
    yield proc
    if proc.process.poll() is None:
        proc.process.kill()
        proc.process.wait()


@async_test
async def test_serve_echoes(server: ServeProcess) -> None:
    async with connect(server.url("/echo")) as ws:
        await ws.send("hi")
        assert await ws.recv() == "hi"
        await ws.send(b"\x01")
        assert await ws.recv() == b"\x01"


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
        with urllib.request.urlopen(server.url(path, "http"), timeout=5) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "text/html; charset=utf-8"
            assert marker in response.read()


def test_serve_answers_unknown_paths_with_404(server: ServeProcess) -> None:
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(server.url("/missing", "http"), timeout=5)
    assert info.value.code == 404


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


@pytest.mark.parametrize("flavour", [(), ("--threads",)], ids=["asyncio", "threads"])
def test_serve_logs_a_line_per_connection(flavour: tuple[str, ...]) -> None:
    server = ServeProcess(*flavour)
    try:

        async def one() -> None:
            async with connect(server.url("/echo?q=1"), subprotocols=["x"]) as ws:
                await ws.close(4000, "later")

        asyncio.run(one())
    finally:
        status, err = server.stop()
    assert status == 0
    assert re.search(r"/echo version=13 status=101 subprotocol=None close=4000 later", err), err


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


def test_connect_sends_stdin_lines_and_prints_replies(server: ServeProcess) -> None:
    result = subprocess.run(
        [*PYTHON, "connect", server.url("/echo")],
        input="first\nsecond\n",
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "first\nsecond\n"
    assert "closed 1000" in result.stderr


def test_connect_reports_a_refusal() -> None:
    server = ServeProcess()
    try:
        result = subprocess.run(
            [*PYTHON, "connect", server.url("/dumb-increment")],
            input="",
            capture_output=True,
            text=True,
            timeout=20,
        )
    finally:
        server.stop()
    assert result.returncode == 1
    assert "403" in result.stderr


def test_demo_prints_the_whole_exchange(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "GET /chat HTTP/1.1" in out
    assert "HTTP/1.1 101 Switching Protocols" in out
    assert "TextMessage(data='Hello, server'" in out
    assert "Close(code=1000, reason='done'" in out
    assert "server: state CLOSED, close the TCP stream: True" in out


def test_serve_refuses_half_a_tls_configuration() -> None:
    with pytest.raises(SystemExit, match="go together"):
        main(["serve", "--tls-cert", "cert.pem"])


def test_serve_over_tls(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
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
