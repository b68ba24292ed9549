"""The harness itself: the missing-peer rule, process-group stops, templates, the blank check."""

from __future__ import annotations

import re
import time
import zlib
from typing import TYPE_CHECKING

import interop_harness
import pytest
from interop_harness import PeerProcess, png_is_not_blank, render

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.interop

NO_NGINX = "no nginx (Debian package nginx)"


def flat_png(width: int, height: int) -> bytes:
    """A PNG of one colour."""
    raw = b"".join(b"\x00" + b"\xff\xff\xff" * width for _ in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body).to_bytes(4, "big")
        return len(body).to_bytes(4, "big") + kind + body + crc

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_a_flat_screenshot_counts_as_blank() -> None:
    not_blank, figures = png_is_not_blank(flat_png(80, 60))
    assert not not_blank, figures


def test_a_missing_peer_skips_outside_ci_saying_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(interop_harness, "IN_CI", False)
    monkeypatch.setattr(
        interop_harness, "missing_peer", lambda peer: "no nginx (Debian package nginx)"
    )
    with pytest.raises(pytest.skip.Exception, match=re.escape("bash .ci/install-peers")):
        interop_harness.require("nginx")


def test_a_missing_peer_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interop_harness, "IN_CI", True)
    monkeypatch.setattr(
        interop_harness, "missing_peer", lambda peer: "no nginx (Debian package nginx)"
    )
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        interop_harness.require("nginx")


def test_an_installed_peer_neither_skips_nor_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interop_harness, "missing_peer", lambda peer: None)
    interop_harness.require("nginx", "apache")


def test_stop_ends_every_process_of_the_group(tmp_path: Path) -> None:
    # The shell forks a child that ignores SIGTERM: only SIGKILL of the group ends it.
    process = PeerProcess(
        "forker",
        ["sh", "-c", "(trap '' TERM; echo child; sleep 60) & echo parent; wait"],
        tmp_path / "forker.log",
    )
    assert {process.next_line(10), process.next_line(10)} == {"parent", "child"}
    started = time.monotonic()
    process.stop(timeout=1.0)
    assert not process.running()
    assert time.monotonic() - started < 10


def test_render_refuses_a_field_it_was_not_given(tmp_path: Path) -> None:
    template = tmp_path / "t.conf.in"
    template.write_text("Listen 127.0.0.1:@@PORT@@\n")
    with pytest.raises(KeyError):
        render(template, tmp_path / "t.conf", HOST="127.0.0.1")


def test_every_template_field_is_filled_for_each_proxy_config(tmp_path: Path) -> None:
    here = interop_harness.HERE
    for routes in ("apache-wstunnel.conf", "apache-upgrade.conf"):
        text = (here / routes).read_text().replace("@@BACKEND@@", "127.0.0.1:1")
        out = render(
            here / "apache.conf.in", tmp_path / "a.conf", SERVER_ROOT="/x", PORT="2", ROUTES=text
        )
        assert "@@" not in out.read_text()
    out = render(here / "nginx-locations.conf", tmp_path / "n.conf", BACKEND="127.0.0.1:1")
    assert "@@" not in out.read_text()
    out = render(here / "nginx.conf.in", tmp_path / "m.conf", PREFIX="/x", PORT="2")
    assert "@@" not in out.read_text()
