"""Headless Chromium in the uvicorn chat example, served by a real uvicorn with our protocol.

``uvicorn_chat_server.py`` runs ``docs/examples/uvicorn_chat/app.py``'s ``main()`` in a
subprocess (Starlette behind ``uvicorn.Server``, ``ws=`` our class); ``browser_chat.mjs``
opens the page twice, in two browser contexts, and sends one message from each. The
test checks that both pages list both messages, that the connections were carried by
our class (the server reports the class of each connection's ``send``) with our
permessage-deflate parameters (what the browser's ``ws.extensions`` shows), and saves a
screenshot of each page to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from interop_harness import (
    HERE,
    IN_CI,
    REPO_ROOT,
    STARTUP_TIMEOUT,
    PeerProcess,
    png_is_not_blank,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from interop_harness import Chromium, NodeRunner

pytestmark = pytest.mark.interop

RUNNING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")
OUR_EXTENSIONS = "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"
"""What our server answers to Chromium's permessage-deflate offer (12-bit windows)."""
MESSAGES = ["hello from A, h\u00e9llo \u2713", "B here: \u00e7a marche"]
"""What page A, then page B, sends."""


def require_packages(*names: str) -> None:
    """Skip (or, in CI, fail) the current test unless every Python package is importable."""
    for name in names:
        if importlib.util.find_spec(name) is not None:
            continue
        message = f"interop peer {name} missing: pip install -e '.[test]'"
        if IN_CI:
            pytest.fail(f"{message} (CI=true: a missing peer is a failure)", pytrace=False)
        pytest.skip(message)


@dataclass(frozen=True)
class ChatServer:
    """uvicorn serving the chat example on 127.0.0.1."""

    port: int
    process: PeerProcess

    def url(self, path: str = "") -> str:
        """The ``http://`` URL of ``path`` on this server."""
        return f"http://127.0.0.1:{self.port}/{path}"

    @property
    def log_files(self) -> tuple[Path, ...]:
        """The logs to show when a test fails."""
        return (self.process.log_path,)


@pytest.fixture
def uvicorn_chat(tmp_path: Path) -> Iterator[ChatServer]:
    """uvicorn running the chat example, stopped after the test."""
    require_packages("uvicorn", "starlette")
    process = PeerProcess(
        "uvicorn-chat",
        [sys.executable, str(HERE / "uvicorn_chat_server.py")],
        tmp_path / "uvicorn-chat.log",
        cwd=REPO_ROOT,
        env={"PYTHONUNBUFFERED": "1"},
    )
    try:
        port = int(process.wait_for_line(RUNNING, STARTUP_TIMEOUT).group(1))
    except AssertionError:
        process.stop()
        raise
    yield ChatServer(port, process)
    process.stop()


def test_two_browser_pages_chat_through_uvicorn_with_our_protocol(
    node: NodeRunner, chromium: Chromium, uvicorn_chat: ChatServer, screenshots: Path
) -> None:
    shots = [screenshots / "uvicorn-chat-a.png", screenshots / "uvicorn-chat-b.png"]
    for shot in shots:
        shot.unlink(missing_ok=True)
    result = node.run(
        "browser_chat.mjs",
        {
            "endpoint": chromium.endpoint,
            "page": uvicorn_chat.url(),
            "messages": MESSAGES,
            "screenshots": [str(shot) for shot in shots],
        },
    )
    for side in ("a", "b"):
        page = result[side]
        assert page["status"] == "open", side
        assert page["messages"] == MESSAGES, side  # its own and the other's, in order
        assert page["extensions"] == OUR_EXTENSIONS, side
        assert page["shownExtensions"] == OUR_EXTENSIONS, side
    # One report per connection, printed by the server as the app was called.
    from wsproto_core.uvicorn import WsprotoCoreProtocol

    reports = [uvicorn_chat.process.next_json(STARTUP_TIMEOUT) for _ in range(2)]
    protocol = f"{WsprotoCoreProtocol.__module__}.{WsprotoCoreProtocol.__qualname__}"
    assert reports == [{"websocket": "/ws", "protocol": protocol}] * 2
    for shot in shots:
        not_blank, figures = png_is_not_blank(shot.read_bytes())
        assert not_blank, f"{shot.name}: {figures}"
