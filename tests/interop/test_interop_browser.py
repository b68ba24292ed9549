"""Headless Chromium against our servers: the demo pages they serve, and 1 MiB messages.

The pages are ``wsproto_core/examples/static``; the test reads what the page shows
(``#status``, ``#log``, ``#counter``, ``#close-code``) and saves a screenshot of each page
to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
from interop_harness import binary_payload, png_is_not_blank, sha256, text_payload

if TYPE_CHECKING:
    from pathlib import Path

    from interop_harness import Backend, Chromium, NodeRunner

pytestmark = pytest.mark.interop

MIB = 2**20
MESSAGE = "h\u00e9llo \u2713"
SERVER_SAW_BYE = re.compile(r" /echo .*close=1000 bye\s*$")


def echo_page(node: NodeRunner, chromium: Chromium, backend: Backend, screenshot: Path) -> Any:
    """Drive the echo page: text, binary, screenshot, close."""
    return node.run(
        "browser.mjs",
        {
            "endpoint": chromium.endpoint,
            "scenario": "echo_page",
            "page": backend.url("echo.html"),
            "message": MESSAGE,
            "screenshot": str(screenshot),
        },
    )


def increment_page(node: NodeRunner, chromium: Chromium, backend: Backend, screenshot: Path) -> Any:
    """Watch the increment page's counter, press reset, watch again."""
    return node.run(
        "browser.mjs",
        {
            "endpoint": chromium.endpoint,
            "scenario": "increment_page",
            "page": backend.url("increment.html"),
            "screenshot": str(screenshot),
        },
    )


def test_echo_page_echoes_text(
    node: NodeRunner, chromium: Chromium, backend: Backend, tmp_path: Path
) -> None:
    result = echo_page(node, chromium, backend, tmp_path / "echo.png")
    assert result["statusOpen"] == "open"
    assert f"text: {MESSAGE}\n" in result["logAfterEcho"]


def test_echo_page_echoes_binary(
    node: NodeRunner, chromium: Chromium, backend: Backend, tmp_path: Path
) -> None:
    result = echo_page(node, chromium, backend, tmp_path / "echo.png")
    shown = " ".join(str(byte) for byte in MESSAGE.encode())
    assert f"binary: {shown}\n" in result["logAfterEcho"]


def test_echo_page_close_code_reaches_the_server_and_comes_back(
    node: NodeRunner, chromium: Chromium, backend: Backend, tmp_path: Path
) -> None:
    # The page closes with 1000 "bye". What it then shows is the server's answering
    # close frame, which echoes the code it received (RFC 6455 §5.5.1); the reason
    # need not be echoed, so it is not checked here.
    result = echo_page(node, chromium, backend, tmp_path / "echo.png")
    assert result["closeCode"] == "1000"


def test_echo_page_screenshot_is_not_blank(
    node: NodeRunner, chromium: Chromium, backend: Backend, screenshots: Path
) -> None:
    screenshot = screenshots / f"echo-{backend.flavour}.png"
    screenshot.unlink(missing_ok=True)
    echo_page(node, chromium, backend, screenshot)
    not_blank, figures = png_is_not_blank(screenshot.read_bytes())
    assert not_blank, figures


def test_echo_page_close_code_and_reason_reach_the_server(
    node: NodeRunner, chromium: Chromium, backend: Backend, tmp_path: Path
) -> None:
    # The server logs each connection's end with the close code and reason it got.
    backend.process.drain()
    echo_page(node, chromium, backend, tmp_path / "echo.png")
    backend.process.wait_for_line(SERVER_SAW_BYE, timeout=10)


def test_increment_page_counter_rises(
    node: NodeRunner, chromium: Chromium, backend: Backend, tmp_path: Path
) -> None:
    # Every number the page received before the click, in order: one more each time.
    before = increment_page(node, chromium, backend, tmp_path / "increment.png")["before"]
    assert len(before) >= 6
    assert before == list(range(before[0], before[0] + len(before)))


def test_increment_page_reset_restarts_the_counter(
    node: NodeRunner, chromium: Chromium, backend: Backend, tmp_path: Path
) -> None:
    result = increment_page(node, chromium, backend, tmp_path / "increment.png")
    before, after = result["before"], result["after"]
    # After the click, the old count may go on for a tick or two (numbers already on
    # their way, or sent before "reset\n" arrived), then the counter restarts from 0
    # and rises one by one. The restart may be the very first number after the click.
    restart = after.index(0)
    assert after[:restart] == list(range(before[-1] + 1, before[-1] + 1 + restart))
    assert after[restart:] == list(range(len(after) - restart))
    assert len(after) - restart >= 6


def test_increment_page_shows_the_servers_close_code_and_reason(
    node: NodeRunner, chromium: Chromium, backend: Backend
) -> None:
    # "closeme\n" asks the dumb-increment handler to close with 1001 "closeme".
    result = node.run(
        "browser.mjs",
        {
            "endpoint": chromium.endpoint,
            "scenario": "increment_closeme",
            "page": backend.url("increment.html"),
        },
    )
    assert (result["closeCode"], result["closeReason"]) == ("1001", "closeme")


def test_increment_page_screenshot_is_not_blank(
    node: NodeRunner, chromium: Chromium, backend: Backend, screenshots: Path
) -> None:
    screenshot = screenshots / f"increment-{backend.flavour}.png"
    screenshot.unlink(missing_ok=True)
    increment_page(node, chromium, backend, screenshot)
    not_blank, figures = png_is_not_blank(screenshot.read_bytes())
    assert not_blank, figures


def test_index_page_links_the_demo_pages_and_its_screenshot_is_not_blank(
    node: NodeRunner, chromium: Chromium, backend: Backend, screenshots: Path
) -> None:
    screenshot = screenshots / f"index-{backend.flavour}.png"
    screenshot.unlink(missing_ok=True)
    result = node.run(
        "browser.mjs",
        {
            "endpoint": chromium.endpoint,
            "scenario": "index_page",
            "page": backend.url(),
            "screenshot": str(screenshot),
        },
    )
    assert result["links"] == ["/echo.html", "/increment.html", "/chat.html"]
    not_blank, figures = png_is_not_blank(screenshot.read_bytes())
    assert not_blank, figures


@pytest.mark.parametrize("kind", ["text", "binary"])
def test_browser_gets_a_1mib_message_echoed(
    node: NodeRunner, chromium: Chromium, backend: Backend, kind: str
) -> None:
    result = node.run(
        "browser.mjs",
        {
            "endpoint": chromium.endpoint,
            "scenario": "steps",
            "page": backend.url("echo.html"),
            "url": backend.ws_url("echo"),
            "steps": [{"send": kind, "size": MIB}, {"receive": 1}, {"close": 1000}],
        },
    )
    payload = text_payload(MIB) if kind == "text" else binary_payload(MIB)
    received = result["results"][1]
    assert (received["received"], received["length"], received["sha256"]) == (
        kind,
        MIB,
        sha256(payload),
    )
