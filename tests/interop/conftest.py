"""Fixtures for the interop tests: real, independent peers on 127.0.0.1.

Each peer fixture first checks that the peer is installed: outside CI a missing peer
skips the test with a message saying how to install it; with ``CI=true`` it fails it.
Every process is stopped by the fixture that started it, and the session ends by
checking that none of them is left running. When a test fails, the logs of the peers it
used are attached to its report and copied to ``artifacts/logs/``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from interop_harness import (
    ARTIFACTS,
    BACKEND_FLAVOURS,
    PROXY_KINDS,
    PROXY_STOP_GRACE,
    STARTED,
    Backend,
    Chromium,
    NodeRunner,
    NodeWsServer,
    Peers,
    Proxy,
    require,
    start_backend,
    start_chromium,
    start_proxy,
)

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator


@pytest.fixture(scope="session", autouse=True)
def _fresh_failure_logs() -> None:
    """Start the session with no failure logs left from an earlier run."""
    shutil.rmtree(ARTIFACTS / "logs", ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _nothing_left_running() -> Iterator[None]:
    """After the session, prove that every process the interop tests started has ended."""
    yield
    survivors = [process for process in STARTED if process.running()]
    for process in survivors:
        process.stop()
    assert not survivors, f"left running: {[process.name for process in survivors]}"


@pytest.fixture(scope="session", params=BACKEND_FLAVOURS)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    """Our server, asyncio then threading, shared by the tests that do not stop it."""
    server = start_backend(request.param, tmp_path_factory.mktemp(f"backend-{request.param}"))
    yield server
    server.process.stop()


@pytest.fixture
def fresh_backend(tmp_path: Path) -> Iterator[Peers[Backend]]:
    """Servers a test may shut down or configure itself: ``fresh_backend(flavour, *options)``."""
    peers = Peers(
        lambda flavour, *options: start_backend(
            flavour, tmp_path / f"backend-{len(peers.started)}", *options
        )
    )
    yield peers
    peers.stop()


@pytest.fixture(scope="session", params=PROXY_KINDS)
def proxy(
    request: pytest.FixtureRequest, backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Proxy]:
    """Apache (wstunnel, then mod_proxy_http's upgrade) and nginx in front of ``backend``."""
    kind: str = request.param
    require("apache" if kind.startswith("apache") else "nginx")
    server = start_proxy(kind, backend, tmp_path_factory.mktemp(f"{kind}-{backend.flavour}"))
    yield server
    server.process.stop(PROXY_STOP_GRACE)


@pytest.fixture
def fresh_proxy(tmp_path: Path) -> Iterator[Peers[Proxy]]:
    """Proxies in front of a given backend: ``fresh_proxy(kind, backend)``."""

    def start(kind: str, server: Backend) -> Proxy:
        require("apache" if kind.startswith("apache") else "nginx")
        return start_proxy(kind, server, tmp_path / f"{kind}-{len(peers.started)}")

    peers = Peers(start)
    yield peers
    peers.stop(PROXY_STOP_GRACE)


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    """One headless Chromium for the session, fresh profile; each test gets its own context."""
    require("chromium")
    browser = start_chromium(
        tmp_path_factory.mktemp("chromium-profile"), tmp_path_factory.mktemp("chromium-logs")
    )
    yield browser
    browser.process.stop()


@pytest.fixture
def node(tmp_path: Path) -> NodeRunner:
    """Runs this directory's Node scripts (ws client, browser driver) for one test."""
    require("ws")
    return NodeRunner(tmp_path / "node")


@pytest.fixture
def ws_server(tmp_path: Path) -> Iterator[Peers[NodeWsServer]]:
    """Node ws servers: ``ws_server()``, or ``ws_server(fragments=K)`` to fragment their echoes.

    ``ws_server(perMessageDeflate=...)`` gives ws's permessage-deflate options (default off).
    """
    require("ws")
    peers = Peers(
        lambda **options: NodeWsServer(options, tmp_path / f"ws-server-{len(peers.started)}")
    )
    yield peers
    peers.stop()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """``artifacts/screenshots/``, where the browser tests save their PNGs."""
    directory = ARTIFACTS / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _log_files(value: object) -> tuple[Path, ...]:
    files = getattr(value, "log_files", ())
    return tuple(path for path in files if isinstance(path, Path))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the logs of the peers a failed test used, and copy them under ``artifacts/logs``."""
    report: pytest.TestReport = yield
    if report.failed and isinstance(item, pytest.Function):
        destination = ARTIFACTS / "logs" / re.sub(r"[^\w.-]+", "_", item.nodeid)
        for value in item.funcargs.values():
            for path in _log_files(value):
                if not path.is_file():
                    continue
                destination.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, destination / f"{path.parent.name}-{path.name}")
                tail = path.read_text(errors="replace")[-4000:]
                report.sections.append((f"interop log {path}", tail))
    return report
