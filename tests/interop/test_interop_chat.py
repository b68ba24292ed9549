"""The chat demo across two server processes sharing one Redis, seen from headless Chromium.

A real ``redis-server`` (its own config on a free loopback port, no persistence)
and two ``python -m wsproto_core serve --broker redis://...`` processes, one
asyncio and one threading; a Chromium page on each. A line typed in the page
of process A appears in the page of process B; then B stops and its page shows
that it is reconnecting. The screenshots go to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

import pytest
from interop_harness import png_is_not_blank, require
from redis_helpers import RedisServer  # tests/, on the path through its conftest

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from interop_harness import Backend, Chromium, NodeRunner, Peers

pytestmark = pytest.mark.interop

MESSAGE = "hello from process A \u2713"


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    require("redis")
    with RedisServer() as server:
        yield server


def test_a_line_typed_on_one_server_appears_on_the_other(
    node: NodeRunner,
    chromium: Chromium,
    fresh_backend: Peers[Backend],
    redis_server: RedisServer,
    screenshots: Path,
) -> None:
    server_a = fresh_backend("asyncio", "--broker", redis_server.url)
    server_b = fresh_backend("threads", "--broker", redis_server.url)
    shots = {name: screenshots / f"chat-{name}.png" for name in ("a", "b", "b-reconnecting")}
    for shot in shots.values():
        shot.unlink(missing_ok=True)

    def stop_b(mark: str) -> None:
        assert mark == "delivered"
        server_b.process.send_signal(signal.SIGTERM)

    result = node.run(
        "chat.mjs",
        {
            "endpoint": chromium.endpoint,
            "pageA": server_a.url("chat.html"),
            "pageB": server_b.url("chat.html"),
            "message": MESSAGE,
            "screenshotA": str(shots["a"]),
            "screenshotB": str(shots["b"]),
            "screenshotReconnecting": str(shots["b-reconnecting"]),
        },
        on_mark=stop_b,
    )
    assert result["logA"].splitlines() == [MESSAGE]
    assert result["logB"].splitlines() == [MESSAGE]
    assert result["statusA"] == "connected"
    assert result["statusB"] == "reconnecting"
    assert "next try in" in result["retryB"]
    for shot in shots.values():
        not_blank, figures = png_is_not_blank(shot.read_bytes())
        assert not_blank, figures
