"""The machinery of the interop tests: start real peers on loopback, talk to them, stop them.

Every process is started in its own process group with its output in a log file, and
:func:`PeerProcess.stop` ends the whole group, so a peer that forks (Apache, nginx,
Chromium) leaves nothing behind. Payloads follow one rule shared with ``steps.js`` and
``ws_server.mjs`` so that both sides can check what arrived by its SHA-256.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
ARTIFACTS = REPO_ROOT / "artifacts"
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
INSTALL_HINT = "install the interop peers with `bash .ci/install-peers`"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
APACHE_MODULES = Path("/usr/lib/apache2/modules")
SYSTEM_PATH = os.pathsep.join((os.environ.get("PATH", ""), "/usr/sbin", "/sbin"))

BACKEND_FLAVOURS = ("asyncio", "threads")
"""Our two servers: ``serve`` and ``serve --threads``."""
STARTUP_TIMEOUT = 20.0
"""Seconds a peer may take to start listening."""
PROXY_STOP_GRACE = 2.0
"""Seconds Apache and nginx get to exit on SIGTERM before SIGKILL."""
NODE_TIMEOUT = 60.0
"""Seconds one Node script (a client run, a browser scenario) may take."""
MAX_MESSAGE_SIZE = 2 * 2**20
"""The ``--max-message-size`` of every backend: 1 MiB messages pass, 3 MiB ones get 1009."""

TEXT_PATTERN = "wsproto_core \u2713 \u00fcn\u00efc\u00f6d\u00e9 \u20ac "
JSON_PATTERN = '{"id":7,"name":"wsproto_core","tags":["deflate","rfc7692"],"ok":true},'
KIB = 2**10
MIB = 2**20
DEFLATE_SIZES = (0, 100, 64 * KIB, MIB)
"""The message sizes of the permessage-deflate matrix: empty, small, 64 KiB, 1 MiB."""
DEFLATE_KINDS = ("text", "json", "binary", "random", "random_text")
"""The payload kinds of that matrix (see :func:`payload`): three compressible, two random."""
TEXT_KINDS = frozenset({"text", "json", "random_text"})
SERVING = re.compile(r"serving on http://(127\.0\.0\.1):(\d+)/")

STARTED: list[PeerProcess] = []
"""Every process the interop tests started, so the session can prove none is left."""


def text_payload(size: int) -> str:
    """The text message of ``size`` code points that ``steps.js`` sends."""
    repeats = -(-size // len(TEXT_PATTERN))
    return (TEXT_PATTERN * repeats)[:size]


def binary_payload(size: int) -> bytes:
    """The binary message of ``size`` bytes that ``steps.js`` sends: byte i is (31 i + 7) % 256."""
    return bytes((31 * i + 7) & 0xFF for i in range(size))


def json_payload(size: int) -> str:
    """The compressible JSON-like text of ``size`` characters that ``steps.js`` sends."""
    repeats = -(-size // len(JSON_PATTERN))
    return (JSON_PATTERN * repeats)[:size]


_UTF8_RANGES = ((0x00, 0x7F), (0x80, 0x7FF), (0x800, 0xFFFF), (0x10000, 0x10FFFF))


def random_text_payload(size: int, rng: random.Random) -> str:
    """Random code points of all four UTF-8 lengths (no surrogates), ``size`` bytes in UTF-8.

    The same rule as ``steps.js``'s ``random_text``, from ``rng`` instead of crypto.
    """
    points = []
    left = size
    while left > 0:
        length = rng.randint(1, 4)
        if length > left:
            length = 1
        low, high = _UTF8_RANGES[length - 1]
        point = rng.randint(low, high)
        if 0xD800 <= point <= 0xDFFF:
            point -= 0x800
        points.append(chr(point))
        left -= length
    return "".join(points)


def payload(kind: str, size: int, rng: random.Random | None = None) -> str | bytes:
    """The message of ``kind`` and ``size`` (see ``steps.js``); random ones from ``rng``.

    ``text`` is ``size`` code points; the other kinds are ``size`` bytes in UTF-8.
    """
    if kind == "text":
        return text_payload(size)
    if kind == "json":
        return json_payload(size)
    if kind == "binary":
        return binary_payload(size)
    rng = rng or random.Random(size)
    if kind == "random":
        return rng.randbytes(size)
    if kind == "random_text":
        return random_text_payload(size, rng)
    raise ValueError(f"unknown payload kind {kind!r}")


def deflate_echo_steps(
    kinds: Sequence[str] = DEFLATE_KINDS, sizes: Sequence[int] = DEFLATE_SIZES
) -> list[dict[str, Any]]:
    """``steps.js`` steps echoing one message of every kind and size, then closing with 1000."""
    steps: list[dict[str, Any]] = []
    for kind in kinds:
        for size in sizes:
            steps += [{"send": kind, "size": size}, {"receive": 1}]
    return [*steps, {"close": 1000}]


def check_deflate_echoes(result: dict[str, Any]) -> list[tuple[str, int, dict[str, Any]]]:
    """Check that every message a :func:`deflate_echo_steps` run sent came back intact.

    Each echo must have the type, length, UTF-8 size and SHA-256 of what was sent, and the
    deterministic kinds must hash as Python's :func:`payload` does.

    Returns:
        ``(kind, size, received)`` for every echo, ``received`` as ``steps.js`` reports it.
    """
    assert result["opened"], result
    entries = result["results"]
    assert entries[-1]["closed"]["code"] == 1000, entries[-1]
    echoes = []
    for sent, received in zip(entries[:-1:2], entries[1:-1:2], strict=True):
        kind = sent["sent"]
        size = sent["length"] if kind == "text" else sent["bytes"]
        where = f"{kind} {size}"
        assert received["received"] == ("text" if kind in TEXT_KINDS else "binary"), where
        assert (received["length"], received["bytes"], received["sha256"]) == (
            sent["length"],
            sent["bytes"],
            sent["sha256"],
        ), where
        if kind in {"text", "json", "binary"}:
            assert sent["sha256"] == sha256(payload(kind, size)), where
        echoes.append((kind, size, received))
    return echoes


def sha256(data: str | bytes) -> str:
    """The hex SHA-256 of ``data`` (text as UTF-8)."""
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def missing_peer(peer: str) -> str | None:
    """Say why ``peer`` cannot run here, or return ``None`` if it can.

    Args:
        peer: ``"node"``, ``"ws"``, ``"chromium"``, ``"apache"``, ``"nginx"`` or ``"redis"``.
    """
    if peer in {"node", "ws", "chromium"} and shutil.which("node") is None:
        return "no `node` on PATH"
    if peer == "ws" and not (HERE / "node_modules" / "ws" / "package.json").is_file():
        return "Node's ws is not installed (`npm ci` in tests/interop)"
    if peer == "chromium":
        if not (HERE / "node_modules" / "puppeteer-core" / "package.json").is_file():
            return "puppeteer-core is not installed (`npm ci` in tests/interop)"
        if not os.access(CHROMIUM, os.X_OK):
            return f"no {CHROMIUM} (Debian package chromium)"
    if peer == "apache":
        if shutil.which("apache2", path=SYSTEM_PATH) is None:
            return "no apache2 (Debian package apache2)"
        if not (APACHE_MODULES / "mod_proxy_wstunnel.so").is_file():
            return f"no mod_proxy_wstunnel in {APACHE_MODULES}"
    if peer == "nginx" and shutil.which("nginx", path=SYSTEM_PATH) is None:
        return "no nginx (Debian package nginx)"
    if peer == "redis" and shutil.which("redis-server", path=SYSTEM_PATH) is None:
        return "no redis-server (Debian package redis-server)"
    return None


def require(*peers: str) -> None:
    """Skip (or, in CI, fail) the current test unless every one of ``peers`` is installed."""
    for peer in peers:
        why = missing_peer(peer)
        if why is None:
            continue
        message = f"interop peer {peer} missing: {why}; {INSTALL_HINT}"
        if IN_CI:
            pytest.fail(f"{message} (CI=true: a missing peer is a failure)", pytrace=False)
        pytest.skip(message)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def render(template: Path, destination: Path, **fields: str) -> Path:
    """Write ``template`` to ``destination`` with every ``@@NAME@@`` replaced by ``fields[NAME]``.

    Raises:
        KeyError: The template names a field that was not given.
    """
    text = re.sub(r"@@([A-Z_]+)@@", lambda match: fields[match.group(1)], template.read_text())
    destination.write_text(text)
    return destination


def _group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group ``pgid``, read from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            # Fields after the command name (which may hold spaces): state, ppid, pgrp, ...
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


class PeerProcess:
    """One started peer, alone in a new process group, its output logged and queued by line.

    Args:
        name: What it is, for messages.
        argv: The command.
        log_path: Where its stdout and stderr go.
        cwd: Its working directory.
        env: Extra environment variables.
    """

    __slots__ = ("_lines", "_popen", "_reader", "log_path", "name")

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._popen = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            start_new_session=True,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        STARTED.append(self)
        self._reader = threading.Thread(target=self._read, name=f"{name}-output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._popen.stdout is not None
        with self.log_path.open("a", encoding="utf-8") as log:
            for line in self._popen.stdout:
                log.write(line)
                log.flush()
                self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    @property
    def pid(self) -> int:
        """The process id, which is also its process group id."""
        return self._popen.pid

    def exited(self) -> bool:
        """Whether the leader has exited."""
        return self._popen.poll() is not None

    def running(self) -> bool:
        """Whether any process of the group is still alive."""
        return self._popen.poll() is None or bool(_group_members(self.pid))

    def log_tail(self, limit: int = 6000) -> str:
        """The end of the log, for failure messages."""
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError:
            return ""

    def next_line(self, timeout: float) -> str:
        """The next line of output.

        Raises:
            AssertionError: Nothing within ``timeout`` seconds, or the output ended.
        """
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                f"{self.name}: no output within {timeout} s; log:\n{self.log_tail()}"
            ) from None
        if line is None:
            self._lines.put(None)
            raise AssertionError(
                f"{self.name} ended (exit {self._popen.poll()}); log:\n{self.log_tail()}"
            )
        return line

    def drain(self) -> None:
        """Forget the output read so far, so the next waits see only what comes after."""
        with contextlib.suppress(queue.Empty):
            while True:
                if self._lines.get_nowait() is None:
                    self._lines.put(None)
                    return

    def wait_for_line(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        """Skip output until a line matches ``pattern``; return the match."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.next_line(max(0.0, deadline - time.monotonic()))
            match = pattern.search(line)
            if match is not None:
                return match

    def next_json(self, timeout: float) -> dict[str, Any]:
        """The next line of output that is a JSON object (Node scripts write nothing else)."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.next_line(max(0.0, deadline - time.monotonic()))
            with contextlib.suppress(ValueError):
                value = json.loads(line)
                if isinstance(value, dict):
                    return value

    def send_signal(self, signum: int) -> None:
        """Send ``signum`` to the leader only (SIGTERM for a graceful shutdown)."""
        self._popen.send_signal(signum)

    def wait(self, timeout: float) -> int:
        """Wait for the leader to exit; return its exit status."""
        return self._popen.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """End the whole process group: SIGTERM, then SIGKILL for what is left after ``timeout``.

        Apache's children do not leave a tunnel on SIGTERM until its poll times out,
        so the proxies are stopped with a short ``timeout``: the test is over by then.
        """
        for signum in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signum)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._popen.wait(0.05)
                if not self.running():
                    self._reader.join(timeout)
                    return
        raise AssertionError(f"{self.name}: process group {self.pid} survived SIGKILL")


def wait_for_port(port: int, process: PeerProcess, timeout: float = STARTUP_TIMEOUT) -> None:
    """Wait until 127.0.0.1:``port`` accepts connections, failing early if ``process`` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.exited():
            raise AssertionError(
                f"{process.name} exited while starting; log:\n{process.log_tail()}"
            )
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise AssertionError(f"{process.name}: port {port} not listening; log:\n{process.log_tail()}")


@dataclass(frozen=True)
class Backend:
    """Our server (``python -m wsproto_core serve``) on 127.0.0.1.

    Attributes:
        flavour: ``"asyncio"`` or ``"threads"``.
        address: ``127.0.0.1:PORT``.
        process: The server process.
    """

    flavour: str
    address: str
    process: PeerProcess

    def url(self, path: str = "") -> str:
        """The ``http://`` URL of ``path`` on this server."""
        return f"http://{self.address}/{path}"

    def ws_url(self, path: str) -> str:
        """The ``ws://`` URL of ``path`` on this server."""
        return f"ws://{self.address}/{path}"

    @property
    def log_files(self) -> tuple[Path, ...]:
        """The logs to show when a test fails."""
        return (self.process.log_path,)


def assert_shutdown_reaches_client(
    node: NodeRunner, backend: Backend, script: str, spec: dict[str, Any]
) -> None:
    """Run a client that echoes once, SIGTERM ``backend`` then; the client must see 1001.

    Args:
        node: The Node runner.
        backend: The server to shut down (a fresh one: it exits).
        script: ``ws_client.mjs`` or ``browser.mjs``.
        spec: The script's options but ``steps`` (``url``, and for the browser its page).
    """

    def shut_down(mark: str) -> None:
        assert mark == "open"
        backend.process.send_signal(signal.SIGTERM)

    steps = [
        {"send": "text", "data": "hi"},
        {"receive": 1},
        {"mark": "open"},
        {"await_close": True},
    ]
    result = node.run(script, {**spec, "steps": steps}, on_mark=shut_down)
    assert result["results"][-1]["closed"]["code"] == 1001
    assert backend.process.wait(15) == 0


def start_backend(flavour: str, log_dir: Path, *options: str) -> Backend:
    """Start our server, asyncio or threading, on a free port of 127.0.0.1.

    Args:
        flavour: ``"asyncio"`` or ``"threads"``.
        log_dir: Where its output goes.
        options: More ``serve`` options, e.g. ``--no-compression``.
    """
    argv = [
        sys.executable,
        "-m",
        "wsproto_core",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--max-message-size",
        str(MAX_MESSAGE_SIZE),
    ]
    if flavour == "threads":
        argv.append("--threads")
    argv += options
    process = PeerProcess(
        f"backend-{flavour}",
        argv,
        log_dir / f"backend-{flavour}.log",
        cwd=REPO_ROOT,
        env={"PYTHONUNBUFFERED": "1"},
    )
    try:
        match = process.wait_for_line(SERVING, STARTUP_TIMEOUT)
    except AssertionError:
        process.stop()
        raise
    return Backend(flavour, f"{match.group(1)}:{match.group(2)}", process)


@dataclass(frozen=True)
class Proxy:
    """Apache or nginx on 127.0.0.1 in front of a backend: ``/ws/X`` reaches the backend's ``/X``.

    Attributes:
        kind: ``"apache-wstunnel"``, ``"apache-upgrade"`` or ``"nginx"``.
        port: The port it listens on.
        root: Its own directory: configuration, pid file, logs.
        process: The master process.
    """

    kind: str
    port: int
    root: Path
    process: PeerProcess

    def ws_url(self, path: str) -> str:
        """The ``ws://`` URL, through the proxy, of the backend's ``path``."""
        return f"ws://127.0.0.1:{self.port}/ws/{path}"

    def url(self, path: str = "") -> str:
        """The ``http://`` URL, through the proxy, of the backend's page ``path``."""
        return f"http://127.0.0.1:{self.port}/{path}"

    def error_log(self) -> str:
        """The proxy's error log so far."""
        return (self.root / "error.log").read_text(errors="replace")

    def bytes_sent(self, target: str, timeout: float = 15.0) -> int:
        """The bytes sent to the client on the request for ``target`` (its path and query).

        Both proxies log every byte written to the client connection, a WebSocket
        tunnel's included (Apache's ``%O``, nginx's ``$bytes_sent``), once the
        connection ends: this waits for that line of the access log.
        """
        line = re.compile(rf'"GET {re.escape(target)} HTTP/1\.1" \d+ \d+ (\d+)$', re.MULTILINE)
        access_log = self.root / "access.log"
        deadline = time.monotonic() + timeout
        while True:
            match = line.search(access_log.read_text(errors="replace"))
            if match is not None:
                return int(match.group(1))
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.kind}: no access log line for {target} in {timeout} s")
            time.sleep(0.05)

    @property
    def log_files(self) -> tuple[Path, ...]:
        """The logs to show when a test fails."""
        return (
            self.process.log_path,
            self.root / "error.log",
            self.root / "access.log",
        )


PROXY_KINDS = ("apache-wstunnel", "apache-upgrade", "nginx")
"""The proxies in front of our servers: Apache two ways, and nginx."""


def start_proxy(kind: str, backend: Backend, root: Path) -> Proxy:
    """Start Apache (``apache-wstunnel``, ``apache-upgrade``) or nginx in front of ``backend``."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    if kind.startswith("apache-"):
        routes = (HERE / f"{kind}.conf").read_text().replace("@@BACKEND@@", backend.address)
        config = render(
            HERE / "apache.conf.in",
            root / "httpd.conf",
            SERVER_ROOT=str(root),
            PORT=str(port),
            ROUTES=routes,
        )
        apache2 = shutil.which("apache2", path=SYSTEM_PATH) or "apache2"
        argv = [apache2, "-f", str(config), "-DFOREGROUND"]
    else:
        render(HERE / "nginx-websocket.conf", root / "websocket.conf")
        render(HERE / "nginx-locations.conf", root / "locations.conf", BACKEND=backend.address)
        config = render(
            HERE / "nginx.conf.in", root / "nginx.conf", PREFIX=str(root), PORT=str(port)
        )
        nginx = shutil.which("nginx", path=SYSTEM_PATH) or "nginx"
        argv = [nginx, "-c", str(config), "-p", str(root), "-e", str(root / "error.log")]
    process = PeerProcess(kind, argv, root / "stdout.log", cwd=root)
    try:
        wait_for_port(port, process)
    except AssertionError:
        process.stop()
        raise
    return Proxy(kind, port, root, process)


@dataclass(frozen=True)
class Chromium:
    """Headless Chromium, driven through its DevTools endpoint.

    Attributes:
        endpoint: The browser's DevTools WebSocket URL, for ``puppeteer.connect``.
        process: The browser process.
    """

    endpoint: str
    process: PeerProcess

    @property
    def log_files(self) -> tuple[Path, ...]:
        """The logs to show when a test fails."""
        return (self.process.log_path,)


def start_chromium(profile: Path, log_dir: Path) -> Chromium:
    """Start headless Chromium with a fresh profile and DevTools on a free loopback port."""
    process = PeerProcess(
        "chromium",
        [
            str(CHROMIUM),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "about:blank",
        ],
        log_dir / "chromium.log",
    )
    # Chromium writes the port it chose and the browser's path to this file once listening.
    active_port = profile / "DevToolsActivePort"
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        lines = active_port.read_text().split() if active_port.is_file() else []
        if len(lines) == 2:
            return Chromium(f"ws://127.0.0.1:{lines[0]}{lines[1]}", process)
        if process.exited():
            break
        time.sleep(0.05)
    process.stop()
    raise AssertionError(f"chromium did not open its DevTools port; log:\n{process.log_tail()}")


class NodeRunner:
    """Runs the Node scripts of this directory, one process per run, and keeps their logs.

    Args:
        log_dir: Where each run's output goes.
    """

    __slots__ = ("_runs", "log_dir")

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._runs: list[PeerProcess] = []

    @property
    def log_files(self) -> tuple[Path, ...]:
        """The logs to show when a test fails."""
        return tuple(run.log_path for run in self._runs)

    def run(
        self,
        script: str,
        spec: dict[str, Any],
        *,
        on_mark: Callable[[str], None] | None = None,
        timeout: float = NODE_TIMEOUT,
    ) -> dict[str, Any]:
        """Run ``node script spec`` and return the ``result`` object it prints.

        Args:
            script: ``ws_client.mjs`` or ``browser.mjs``.
            spec: What to do, as the script documents.
            on_mark: Called with the name of each ``mark`` step, while the script waits on.
            timeout: Seconds for the whole run.

        Raises:
            AssertionError: The script reported an error or printed no result in time.
        """
        name = f"{len(self._runs):02d}-{script.partition('.')[0]}"
        process = PeerProcess(
            name,
            ["node", str(HERE / script), json.dumps(spec)],
            self.log_dir / f"node-{name}.log",
            cwd=HERE,
        )
        self._runs.append(process)
        deadline = time.monotonic() + timeout
        try:
            while True:
                message = process.next_json(max(0.0, deadline - time.monotonic()))
                if "mark" in message and on_mark is not None:
                    on_mark(message["mark"])
                elif "error" in message:
                    raise AssertionError(f"{script}: {message['error']}\n{process.log_tail()}")
                elif "result" in message:
                    result: dict[str, Any] = message["result"]
                    return result
        finally:
            process.stop()


class NodeWsServer:
    """Node's ws as a server (``ws_server.mjs``) on 127.0.0.1, echoing and reporting events.

    Args:
        options: ``{"fragments": K}`` to send every echo in K frames.
        log_dir: Where its output goes.
    """

    __slots__ = ("port", "process")

    def __init__(self, options: dict[str, Any], log_dir: Path) -> None:
        self.process = PeerProcess(
            "ws-server",
            ["node", str(HERE / "ws_server.mjs"), json.dumps(options)],
            log_dir / "ws-server.log",
            cwd=HERE,
        )
        try:
            self.port: int = self.process.next_json(STARTUP_TIMEOUT)["listening"]
        except (AssertionError, KeyError):
            self.process.stop()
            raise

    def ws_url(self, path: str = "") -> str:
        """The ``ws://`` URL of ``path`` on this server."""
        return f"ws://127.0.0.1:{self.port}/{path}"

    def wait_event(self, event: str, timeout: float = 15.0) -> dict[str, Any]:
        """Skip the server's reports until one of kind ``event``; return it."""
        deadline = time.monotonic() + timeout
        while True:
            report = self.process.next_json(max(0.0, deadline - time.monotonic()))
            if report.get("event") == event:
                return report

    @property
    def log_files(self) -> tuple[Path, ...]:
        """The logs to show when a test fails."""
        return (self.process.log_path,)


def png_is_not_blank(data: bytes) -> tuple[bool, str]:
    """Decide whether a PNG screenshot shows something: several colours, not one flat fill.

    Decodes the image (8-bit RGB or RGBA, non-interlaced, as Chromium writes them) and
    counts the pixels that differ from the most common colour.

    Returns:
        Whether the image is not blank, and the figures that decided it.
    """
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return False, "not a PNG"
    offset, idat, header = 8, bytearray(), b""
    while offset < len(data):
        length = int.from_bytes(data[offset : offset + 4], "big")
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    width, height = int.from_bytes(header[0:4], "big"), int.from_bytes(header[4:8], "big")
    depth, colour_type, interlace = header[8], header[9], header[12]
    if depth != 8 or colour_type not in (2, 6) or interlace:
        return False, f"unexpected PNG format (depth {depth}, colour type {colour_type})"
    channels = 3 if colour_type == 2 else 4
    pixels = _unfilter(zlib.decompress(bytes(idat)), width, height, channels)
    counts: dict[bytes, int] = {}
    for start in range(0, len(pixels), channels):
        colour = bytes(pixels[start : start + 3])
        counts[colour] = counts.get(colour, 0) + 1
    background = max(counts.values())
    other = width * height - background
    figures = f"{width}x{height}, {len(counts)} colours, {other} pixels off the background"
    return len(counts) >= 8 and other >= width * height // 500, figures


def _unfilter(raw: bytes, width: int, height: int, channels: int) -> bytearray:
    """Undo the PNG row filters (PNG spec §9), giving the raw pixel bytes row after row."""
    stride = width * channels
    out = bytearray(stride * height)
    previous = bytearray(stride)
    position = 0
    for row in range(height):
        kind = raw[position]
        line = bytearray(raw[position + 1 : position + 1 + stride])
        position += 1 + stride
        if kind == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                b = previous[i]
                c = previous[i - channels] if i >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                predictor = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + predictor) & 0xFF
        out[row * stride : (row + 1) * stride] = line
        previous = line
    return out


PeerT = TypeVar("PeerT", Backend, Proxy, NodeWsServer)


class Peers(Generic[PeerT]):
    """What a factory fixture gives a test: call it to start a peer; all are stopped after.

    Args:
        make: Starts one peer.
    """

    __slots__ = ("_make", "started")

    def __init__(self, make: Callable[..., PeerT]) -> None:
        self._make: Callable[..., PeerT] = make
        self.started: list[PeerT] = []

    def __call__(self, *args: Any, **kwargs: Any) -> PeerT:
        """Start one more peer."""
        self.started.append(self._make(*args, **kwargs))
        return self.started[-1]

    @property
    def log_files(self) -> tuple[Path, ...]:
        """The logs of every peer started, to show when the test fails."""
        return tuple(path for peer in self.started for path in peer.log_files)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every peer started, each given ``timeout`` seconds before SIGKILL."""
        for peer in self.started:
            peer.process.stop(timeout)
