"""Every program the documentation shows, run against real loopback sockets.

The pages include ``docs/examples/**`` with ``literalinclude``; these tests run
each file's ``main()`` (servers on a free port of 127.0.0.1, stopped at the end)
or the whole file, and check what it prints or does. Nothing sleeps: a test
waits for the event it needs (a line printed, a log record, a future) within a
generous timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import inspect
import io
import logging
import re
import runpy
import socket
import ssl
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from wsproto_core import ClientConnection, Close, Request, ServerConnection, TextMessage
from wsproto_core.asyncio import ConnectionClosedError, HandshakeRejected, connect
from wsproto_core.sync import connect as sync_connect

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import ModuleType

DOCS = Path(__file__).resolve().parent.parent / "docs"
EXAMPLES = DOCS / "examples"
TIMEOUT = 20.0
"""The longest any awaited event may take, in seconds."""


# -- running the examples ------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _forget_example_modules() -> Iterator[None]:
    """Examples import their siblings by plain name: drop those modules after each test."""
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if (getattr(sys.modules[name], "__file__", None) or "").startswith(str(EXAMPLES)):
            del sys.modules[name]


def load(relative: str) -> ModuleType:
    """Import ``docs/examples/<relative>`` as a fresh module (its folder on ``sys.path``)."""
    path = EXAMPLES / relative
    folder = str(path.parent)
    sys.path.insert(0, folder)
    try:
        spec = importlib.util.spec_from_file_location(f"docs_example_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(folder)
    return module


class Output(io.TextIOBase):
    """A standard output that keeps what is printed and lets a test wait for a line."""

    def __init__(self) -> None:
        self._text = ""
        self._changed = threading.Condition()

    def write(self, text: str) -> int:
        with self._changed:
            self._text += text
            self._changed.notify_all()
        return len(text)

    @property
    def text(self) -> str:
        with self._changed:
            return self._text

    def wait_for(self, pattern: str) -> re.Match[str]:
        """Wait until the output matches ``pattern``; return the match."""
        regex = re.compile(pattern, re.MULTILINE)
        with self._changed:
            found = self._changed.wait_for(lambda: regex.search(self._text), TIMEOUT)
            if not found:
                raise AssertionError(f"nothing matched {pattern!r} in {self._text!r}")
            return found


@pytest.fixture
def output() -> Output:
    """What the examples print, while :func:`running` or :func:`run_client` runs them."""
    return Output()


class LogRecords(logging.Handler):
    """A log handler that lets a test wait for a message."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []
        self._changed = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self._changed:
            self.messages.append(record.getMessage())
            self._changed.notify_all()

    def wait_for(self, pattern: str) -> str:
        regex = re.compile(pattern)

        def match() -> str | None:
            return next((m for m in self.messages if regex.search(m)), None)

        with self._changed:
            found = self._changed.wait_for(match, TIMEOUT)
        assert found, f"no log message matched {pattern!r} in {self.messages!r}"
        return found


class Running:
    """An example's ``main()`` running in a thread until :meth:`stop`.

    A coroutine ``main`` gets its own event loop and is stopped by cancelling it,
    as Ctrl-C would; a blocking one is stopped by ``stop_blocking``.
    """

    def __init__(
        self,
        main: Callable[..., Any],
        stop_blocking: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> None:
        self._stop_blocking = stop_blocking
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        if inspect.iscoroutinefunction(main):
            self._loop = asyncio.new_event_loop()
            self._task = self._loop.create_task(main(**kwargs))
        self._thread = threading.Thread(target=self._run, args=(main, kwargs), daemon=True)
        self._thread.start()

    def _run(self, main: Callable[..., Any], kwargs: dict[str, Any]) -> None:
        try:
            if self._loop is not None and self._task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    self._loop.run_until_complete(self._task)
                self._loop.run_until_complete(self._loop.shutdown_asyncgens())
                self._loop.close()
            else:
                main(**kwargs)
        except BaseException as exc:
            self.error = exc

    def stop(self) -> None:
        """Stop ``main()``, wait for it to return, and re-raise what it raised."""
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        elif self._stop_blocking is not None:
            self._stop_blocking()
        self._thread.join(TIMEOUT)
        assert not self._thread.is_alive(), "main() did not return"
        if self.error is not None:
            raise self.error


@contextlib.contextmanager
def running(
    output: Output,
    main: Callable[..., Any],
    stop_blocking: Callable[[], None] | None = None,
    listening: str = r"Listening on \w+://127\.0\.0\.1:(\d+)/",
    **kwargs: Any,
) -> Iterator[int]:
    """Run a server example's ``main(host="127.0.0.1", port=0)``; yield the port it printed."""
    with contextlib.redirect_stdout(output):
        server = Running(main, stop_blocking, host="127.0.0.1", port=0, **kwargs)
        try:
            yield int(output.wait_for(listening).group(1))
        finally:
            server.stop()


def record_servers(monkeypatch: pytest.MonkeyPatch, module: ModuleType) -> list[Any]:
    """Wrap the ``serve`` a threading example calls, to keep the servers it makes."""
    servers: list[Any] = []
    real_serve = module.serve

    def recording_serve(*args: Any, **kwargs: Any) -> Any:
        server = real_serve(*args, **kwargs)
        servers.append(server)
        return server

    monkeypatch.setattr(module, "serve", recording_serve)
    return servers


def run_client(output: Output, main: Callable[..., Any], **kwargs: Any) -> None:
    """Run a client example's ``main()`` to its end, bounded by the timeout."""
    with contextlib.redirect_stdout(output):
        if inspect.iscoroutinefunction(main):
            asyncio.run(asyncio.wait_for(main(**kwargs), TIMEOUT))
        else:
            main(**kwargs)


def run_async(coroutine: Any) -> Any:
    """Run a test's own asyncio steps, bounded by the timeout."""
    return asyncio.run(asyncio.wait_for(coroutine, TIMEOUT))


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
    """``GET url``: status, Content-Type and body (error statuses included)."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


async def echo_round_trip(url: str, **options: Any) -> tuple[str | bytes, str | bytes]:
    """Send a text and a binary message; return what came back."""
    async with connect(url, **options) as ws:
        await ws.send("text ✓")
        text = await ws.recv()
        await ws.send(b"\x00\xff")
        return text, await ws.recv()


# -- the index page: sans-IO in memory -----------------------------------------------------


def test_sans_io_example_prints_what_the_index_page_shows(output: Output) -> None:
    with contextlib.redirect_stdout(output):
        runpy.run_path(str(EXAMPLES / "sans_io.py"), run_name="__main__")
    assert output.text == (EXAMPLES / "sans_io.out").read_text()


# -- getting started -----------------------------------------------------------------------


def start_hello_server(
    output: Output, monkeypatch: pytest.MonkeyPatch, flavour: str
) -> contextlib.AbstractContextManager[int]:
    if flavour == "asyncio":
        return running(output, load("quickstart/hello_server.py").main)
    module = load("quickstart/hello_server_sync.py")
    servers = record_servers(monkeypatch, module)
    return running(output, module.main, lambda: servers[0].shutdown())


@pytest.mark.parametrize("server", ["asyncio", "threads"])
@pytest.mark.parametrize("client", ["asyncio", "threads"])
def test_hello_client_prints_the_hello_servers_greeting(
    output: Output, monkeypatch: pytest.MonkeyPatch, server: str, client: str
) -> None:
    client_file = "hello_client.py" if client == "asyncio" else "hello_client_sync.py"
    with start_hello_server(output, monkeypatch, server) as port:
        run_client(output, load(f"quickstart/{client_file}").main, uri=f"ws://127.0.0.1:{port}/")
    assert output.text.splitlines()[1:] == ["Hello, World!"]


def test_clock_server_serves_its_page_and_pushes_the_time(
    output: Output, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = load("quickstart/clock_server.py")
    monkeypatch.setattr(module, "TICK", 0.05)

    async def first_time(port: int) -> str | bytes:
        async with connect(f"ws://127.0.0.1:{port}/time") as ws:
            return await ws.recv()

    with running(output, module.main, listening=r"Open http://127\.0\.0\.1:(\d+)/") as port:
        status, content_type, body = http_get(f"http://127.0.0.1:{port}/")
        shown = run_async(first_time(port))
    assert (status, content_type) == (200, "text/html; charset=utf-8")
    assert body == (EXAMPLES / "quickstart" / "clock.html").read_bytes()
    assert isinstance(shown, str)
    assert datetime.fromisoformat(shown).tzinfo is not None


def test_clock_page_connects_to_the_clock_endpoint() -> None:
    page = (EXAMPLES / "quickstart" / "clock.html").read_text()
    assert "${location.host}/time`" in page


# -- how-to: handlers and routes -----------------------------------------------------------


def start_chat_server(
    output: Output, monkeypatch: pytest.MonkeyPatch, flavour: str
) -> contextlib.AbstractContextManager[int]:
    listening = r"Listening on ws://127\.0\.0\.1:(\d+)/chat"
    if flavour == "asyncio":
        return running(output, load("howto/chat_server.py").main, listening=listening)
    module = load("howto/chat_server_sync.py")
    servers = record_servers(monkeypatch, module)
    return running(output, module.main, lambda: servers[0].shutdown(), listening=listening)


@pytest.mark.parametrize("flavour", ["asyncio", "threads"])
def test_chat_room_sends_each_message_to_every_member(
    output: Output, monkeypatch: pytest.MonkeyPatch, flavour: str
) -> None:
    async def chat(port: int) -> tuple[list[str | bytes], list[str | bytes]]:
        url = f"ws://127.0.0.1:{port}/chat"
        async with connect(f"{url}?name=alice", subprotocols=["chat.v1"]) as alice:
            async with connect(f"{url}?name=bob", subprotocols=["chat.v1"]) as bob:
                await alice.send("hi")
                heard_by_bob = [await bob.recv()]
                heard_by_alice = [await alice.recv()]
            heard_by_alice.append(await alice.recv())
        return heard_by_alice, heard_by_bob

    with start_chat_server(output, monkeypatch, flavour) as port:
        heard_by_alice, heard_by_bob = run_async(chat(port))
    assert heard_by_alice == ["alice: hi", "bob left"]
    assert heard_by_bob == ["alice: hi"]


@pytest.mark.parametrize("flavour", ["asyncio", "threads"])
def test_chat_router_refuses_what_its_routes_do_not_allow(
    output: Output, monkeypatch: pytest.MonkeyPatch, flavour: str
) -> None:
    async def refusal(url: str, **options: Any) -> int | None:
        with pytest.raises(HandshakeRejected) as info:
            await connect(url, **options)
        return info.value.status

    async def too_big(port: int) -> int:
        url = f"ws://127.0.0.1:{port}/chat"
        async with connect(url, subprotocols=["chat.v1"]) as ws:
            await ws.send("x" * 4097)
            with pytest.raises(ConnectionClosedError) as info:
                await ws.recv()
        return info.value.code

    with start_chat_server(output, monkeypatch, flavour) as port:
        base = f"ws://127.0.0.1:{port}"
        assert run_async(refusal(f"{base}/chat")) == 400  # no subprotocol offered
        assert run_async(refusal(f"{base}/nowhere")) == 404
        assert run_async(refusal(f"{base}/echo", origin="https://evil.example")) == 403
        assert run_async(echo_round_trip(f"{base}/echo", origin="https://example.com")) == (
            "text ✓",
            b"\x00\xff",
        )
        assert run_async(too_big(port)) == 1009
        status, content_type, body = http_get(f"http://127.0.0.1:{port}/")
    assert (status, content_type) == (200, "text/html; charset=utf-8")
    assert b"/chat?name=" in body


# -- how-to: authentication ----------------------------------------------------------------


def test_auth_client_with_a_valid_token_is_greeted_by_name(output: Output) -> None:
    client = load("howto/auth_client.py")
    with running(output, load("howto/auth_server.py").main) as port:
        run_client(output, client.main, uri=f"ws://127.0.0.1:{port}/")
    assert output.text.splitlines()[1:] == ["Hello, alice! You said: hi"]


def test_auth_client_with_a_wrong_token_is_refused_with_403(output: Output) -> None:
    client = load("howto/auth_client.py")
    with running(output, load("howto/auth_server.py").main) as port:
        run_client(output, client.main, uri=f"ws://127.0.0.1:{port}/", token="guess")
    assert output.text.splitlines()[1:] == ["refused: 403 a valid token is required"]


def test_auth_server_takes_the_token_from_the_query_string_too(output: Output) -> None:
    async def greeting(url: str) -> str | bytes:
        async with connect(url) as ws:
            await ws.send("hi")
            return await ws.recv()

    with running(output, load("howto/auth_server.py").main) as port:
        shown = run_async(greeting(f"ws://127.0.0.1:{port}/?token=s3cr3t-bob"))
    assert shown == "Hello, bob! You said: hi"


# -- how-to: TLS ---------------------------------------------------------------------------


def test_tls_client_talks_to_the_tls_server(
    output: Output, tls_certificate: tuple[Path, Path]
) -> None:
    cert, key = tls_certificate
    server = load("howto/tls_server.py")
    with running(output, server.main, certfile=str(cert), keyfile=str(key)) as port:
        assert output.text.startswith("Listening on wss://")
        run_client(
            output, load("howto/tls_client.py").main, uri=f"wss://127.0.0.1:{port}/", cafile=cert
        )
    assert output.text.splitlines()[1:] == ["Hello, TLS!"]


def test_tls_server_is_refused_by_a_client_that_does_not_trust_it(
    output: Output, tls_certificate: tuple[Path, Path]
) -> None:
    cert, key = tls_certificate

    async def attempt(port: int) -> None:
        with pytest.raises(ssl.SSLCertVerificationError):
            await connect(f"wss://127.0.0.1:{port}/")

    with running(
        output, load("howto/tls_server.py").main, certfile=str(cert), keyfile=str(key)
    ) as port:
        run_async(attempt(port))


# -- how-to: keepalive and timeouts --------------------------------------------------------


def test_keepalive_client_measures_the_latency_of_a_ping(output: Output) -> None:
    with running(output, load("howto/keepalive_server.py").main) as port:
        run_client(output, load("howto/keepalive_client.py").main, uri=f"ws://127.0.0.1:{port}/")
    assert re.fullmatch(r"Latency: \d+\.\d ms", output.text.splitlines()[1])


# -- how-to: logging -----------------------------------------------------------------------


def test_logging_server_logs_one_line_per_connection(output: Output) -> None:
    records = LogRecords()
    package, adapter, root = (
        logging.getLogger(n) for n in ("wsproto_core", "wsproto_core.asyncio", "")
    )
    saved = package.level, adapter.level, list(root.handlers)
    adapter.addHandler(records)
    try:
        with running(output, load("howto/logging_server.py").main) as port:
            assert package.getEffectiveLevel() == logging.INFO  # the example's doing
            run_async(echo_round_trip(f"ws://127.0.0.1:{port}/path"))
            line = records.wait_for(r" /path version=13 ")
    finally:
        adapter.removeHandler(records)
        package.setLevel(saved[0])
        adapter.setLevel(saved[1])
        root.handlers[:] = saved[2]  # basicConfig() may have added one
    assert re.fullmatch(
        r"\('127\.0\.0\.1', \d+\) /path version=13 status=101 subprotocol=None close=1000",
        line,
    )


# -- how-to: embedding ---------------------------------------------------------------------


def start_raw_socket_server(
    output: Output, monkeypatch: pytest.MonkeyPatch, module: ModuleType
) -> contextlib.AbstractContextManager[int]:
    """Run the example's ``main()``; stop it by shutting its listener down."""
    listeners: list[socket.socket] = []
    real_serve_forever = module.serve_forever

    def recording_serve_forever(listener: socket.socket) -> None:
        listeners.append(listener)
        real_serve_forever(listener)

    monkeypatch.setattr(module, "serve_forever", recording_serve_forever)
    return running(output, module.main, lambda: listeners[0].shutdown(socket.SHUT_RDWR))


def start_http_server(
    output: Output, monkeypatch: pytest.MonkeyPatch, module: ModuleType
) -> contextlib.AbstractContextManager[int]:
    """Run the http.server example's ``main()``; stop it with ``shutdown()``."""
    servers: list[Any] = []

    class RecordingServer(module.ThreadingHTTPServer):  # type: ignore[name-defined,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            servers.append(self)

    monkeypatch.setattr(module, "ThreadingHTTPServer", RecordingServer)
    return running(output, module.main, lambda: servers[0].shutdown())


EMBEDDINGS = {
    "raw socket": ("howto/embed_raw_socket.py", start_raw_socket_server, "/"),
    "h11": ("howto/embed_h11.py", start_raw_socket_server, "/ws"),
    "http.server": ("howto/embed_http_server.py", start_http_server, "/ws"),
}


@pytest.fixture(params=list(EMBEDDINGS))
def embedded(
    request: pytest.FixtureRequest, output: Output, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, int]]:
    """One embedding example serving; yields ``(name, port)``."""
    relative, start, _ = EMBEDDINGS[request.param]
    with start(output, monkeypatch, load(relative)) as port:
        yield request.param, port


def ws_url(embedded: tuple[str, int]) -> str:
    name, port = embedded
    return f"ws://127.0.0.1:{port}{EMBEDDINGS[name][2]}"


def test_embedded_server_echoes_text_and_binary(embedded: tuple[str, int]) -> None:
    assert run_async(echo_round_trip(ws_url(embedded))) == ("text ✓", b"\x00\xff")


@pytest.mark.parametrize("version", [8, 7, "hixie-76"])
def test_embedded_server_echoes_older_protocol_versions(
    embedded: tuple[str, int], version: Any
) -> None:
    # hixie-76 sends eight bytes (key3) right after its request head: they must reach
    # the connection whether the HTTP server read them already or not.
    with sync_connect(ws_url(embedded), version=version) as ws:
        ws.send("old")
        assert ws.recv(timeout=TIMEOUT) == "old"


@pytest.mark.parametrize("name", ["h11", "http.server"])
def test_embedded_http_server_still_serves_its_page(
    output: Output, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    relative, start, _ = EMBEDDINGS[name]
    module = load(relative)
    with start(output, monkeypatch, module) as port:
        status, content_type, body = http_get(f"http://127.0.0.1:{port}/")
    assert (status, content_type, body) == (200, "text/html; charset=utf-8", module.PAGE)


def test_sans_io_client_example_talks_to_the_raw_socket_server(
    output: Output, monkeypatch: pytest.MonkeyPatch
) -> None:
    with start_raw_socket_server(output, monkeypatch, load("howto/embed_raw_socket.py")) as port:
        run_client(output, load("howto/embed_client.py").main, uri=f"ws://127.0.0.1:{port}/")
    assert output.text.splitlines()[1:] == ["received: Hello", "closed: CLOSED"]


def test_embedding_loop_cuts_a_client_that_never_completes_the_handshake(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = load("howto/embed_raw_socket.py")
    monkeypatch.setattr(module, "OPEN_TIMEOUT", 0.1)
    server_side, client_side = socket.socketpair()
    with server_side, client_side:
        client_side.settimeout(TIMEOUT)
        client_side.sendall(b"GET / HTTP/1.1\r\n")  # and never the rest
        module.run(server_side, ServerConnection(), module.echo)
        server_side.close()
        assert client_side.recv(1) == b""  # the stream was closed under it


def test_embedding_loop_gives_up_on_a_peer_that_never_answers_the_close(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = load("howto/embed_raw_socket.py")
    monkeypatch.setattr(module, "CLOSE_TIMEOUT", 0.1)
    client = ClientConnection("ws://127.0.0.1/")
    server = ServerConnection()
    server.receive_data(client.data_to_send())
    assert isinstance(next(server.events()), Request)
    server.accept()
    client.receive_data(server.data_to_send())
    list(client.events())
    client.send_text("close, please")

    seen: list[object] = []

    def close_on_message(conn: ServerConnection, event: object) -> None:
        seen.append(event)
        if isinstance(event, TextMessage):
            conn.close(1000, "bye")

    server_side, client_side = socket.socketpair()
    with server_side, client_side:
        client_side.settimeout(TIMEOUT)
        client_side.sendall(client.data_to_send())  # then it never answers the close
        server_state = Running(module.run, sock=server_side, conn=server, handle=close_on_message)
        client.receive_data(client_side.recv(65536))
        assert [type(e).__name__ for e in client.events()] == ["Close"]
        # The close timer runs out: the server half-closes, and the client sees EOF.
        assert client_side.recv(1) == b""
        server_state.stop()  # run() returned: the second close timer ran out
    assert server.state.name == "CLOSED"
    assert seen[-1] == Close(1006, "no close frame received", by_peer=False)


# -- how-to: legacy clients ----------------------------------------------------------------


def test_legacy_client_speaks_every_version_to_the_legacy_server(output: Output) -> None:
    legacy = load("howto/legacy_server.py")
    listening = r"Listening on ws://127\.0\.0\.1:(\d+)/echo"
    with running(output, legacy.main, listening=listening) as port:
        run_client(output, load("howto/legacy_client.py").main, uri=f"ws://127.0.0.1:{port}/echo")
    assert output.text.splitlines()[1:] == [
        "13: hello",
        "8: hello",
        "7: hello",
        "hixie-76: hello",
        "hixie-75: hello",
    ]


@pytest.mark.parametrize(("version", "status"), [(13, None), ("hixie-76", 400)])
def test_legacy_server_modern_route_refuses_the_drafts(
    output: Output, version: Any, status: int | None
) -> None:
    async def attempt(url: str) -> int | None:
        try:
            async with connect(url, version=version) as ws:
                await ws.send("x")
                await ws.recv()
        except HandshakeRejected as refusal:
            return refusal.status
        return None

    listening = r"Listening on ws://127\.0\.0\.1:(\d+)/echo"
    with running(output, load("howto/legacy_server.py").main, listening=listening) as port:
        assert run_async(attempt(f"ws://127.0.0.1:{port}/modern")) == status


# -- reference pages -----------------------------------------------------------------------

REFERENCE_EXAMPLES = sorted(path.name for path in (EXAMPLES / "reference").glob("*.py"))


@pytest.mark.parametrize("name", REFERENCE_EXAMPLES)
def test_reference_example_runs_and_prints_what_its_out_file_says(
    output: Output, name: str
) -> None:
    # Each file asserts what its page claims; a file with a .out twin prints too.
    path = EXAMPLES / "reference" / name
    with contextlib.redirect_stdout(output):
        runpy.run_path(str(path), run_name="__main__")
    expected = path.with_suffix(".out")
    assert output.text == (expected.read_text() if expected.exists() else "")


def test_every_reference_example_is_shown_on_a_page() -> None:
    # A section marked "# [name]" is included with start-after "# [name]"; a file of
    # example functions has each function but main() included with :pyobject:.
    pages = "\n".join(path.read_text() for path in (DOCS / "reference").glob("*.rst"))
    included = set(
        re.findall(
            r"reference/([\w.]+)\n\s+:language: python\n\s+"
            r"(?::start-after: # \[([\w-]+)\]|:pyobject: (\w+))",
            pages,
        )
    )
    shown = {(file, section or function) for file, section, function in included}
    examples = set()
    for name in REFERENCE_EXAMPLES:
        source = (EXAMPLES / "reference" / name).read_text()
        sections = set(re.findall(r"^# \[([\w-]+)\]$", source, re.MULTILINE)) - {"end"}
        functions = set(re.findall(r"^(?:async )?def (\w+)\(", source, re.MULTILINE)) - {"main"}
        examples |= {(name, part) for part in (sections or functions)}
    assert shown == examples


# -- the command line page -----------------------------------------------------------------


def test_cli_page_quotes_lines_the_demo_command_prints() -> None:
    shown = (EXAMPLES / "cli_demo.txt").read_text().splitlines()
    printed = subprocess.run(
        [sys.executable, "-m", "wsproto_core", "demo"],
        capture_output=True,
        text=True,
        check=True,
        timeout=TIMEOUT,
    ).stdout.splitlines()
    quoted = [line for line in shown[1:] if line.strip() != "..."]  # after the command
    assert shown[0] == "$ python -m wsproto_core demo"
    assert [line for line in printed if line in quoted] == quoted


# -- how-to: uvicorn, FastAPI and Starlette ------------------------------------------------


def test_uvicorn_chat_serves_its_page_and_relays_every_text_to_every_member(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("starlette")
    uvicorn = pytest.importorskip("uvicorn")
    module = load("uvicorn_chat/app.py")
    servers: list[Any] = []
    started = threading.Event()

    class RecordingServer(uvicorn.Server):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            servers.append(self)

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            started.set()

    monkeypatch.setattr(module.uvicorn, "Server", RecordingServer)

    def carriers() -> list[type]:
        """The classes of the server's open connections (uvicorn's protocol objects)."""
        return [type(c) for c in list(servers[0].server_state.connections)]

    async def chat(url: str) -> tuple[list[str | bytes], list[type], str | bytes]:
        async with connect(url) as a, connect(url) as b:
            await a.send("hi from a")
            seen = [await a.recv(), await b.recv()]
            await b.send("hi from b ✓")
            seen += [await a.recv(), await b.recv()]
            carried = carriers()
            await a.close()
            await b.send("a left")  # the room goes on without a
            return seen, carried, await b.recv()

    server = Running(
        module.main, lambda: setattr(servers[0], "should_exit", True), host="127.0.0.1", port=0
    )
    try:
        assert started.wait(TIMEOUT), "uvicorn did not start"
        port = servers[0].servers[0].sockets[0].getsockname()[1]
        status, content_type, body = http_get(f"http://127.0.0.1:{port}/")
        seen, carried, last = run_async(chat(f"ws://127.0.0.1:{port}/ws"))
    finally:
        server.stop()
    assert (status, content_type) == (200, "text/html; charset=utf-8")
    assert body == (EXAMPLES / "uvicorn_chat" / "chat.html").read_bytes()
    assert seen == ["hi from a", "hi from a", "hi from b ✓", "hi from b ✓"]
    assert carried == [module.WsprotoCoreProtocol] * 2
    assert last == "a left"


# -- how-to: conformance -------------------------------------------------------------------


def test_conformance_example_runs_as_a_project_test_suite(tmp_path: Path) -> None:
    """The guide's test file, run by pytest as a project would: every case passes, a report."""
    example = EXAMPLES / "howto" / "test_conformance.py"
    report = tmp_path / "report"
    command = [sys.executable, "-m", "pytest", "-q", "-c", str(tmp_path / "none.ini")]
    command += ["-p", "no:cacheprovider", str(example), "--conformance-report", str(report)]
    (tmp_path / "none.ini").write_text("[pytest]\n")
    done = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=10 * TIMEOUT, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b37 passed\b", done.stdout), done.stdout
    assert list(report.glob("*/index.html")), "no HTML report written"
