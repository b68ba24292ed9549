"""The installed package, as a user's tools see it: one version, type information, metadata."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata, resources
from typing import TYPE_CHECKING

import wsproto_core

if TYPE_CHECKING:
    from pathlib import Path

USER_PROGRAM = """\
from wsproto_core import ServerConnection
from wsproto_core.asyncio import serve
from wsproto_core.handlers import Handler, HandlerConnection
from wsproto_core.sync import connect


class Shout(Handler):
    def on_message(self, conn: HandlerConnection, message: str | bytes) -> None:
        conn.send(message.upper() if isinstance(message, str) else message)


def sizes(conn: ServerConnection) -> int:
    return conn.max_message_size or 0


UNUSED = (serve, connect)
"""


def test_the_version_is_read_from_one_place() -> None:
    assert metadata.version("wsproto-core") == wsproto_core.__version__


def test_py_typed_ships_with_the_package() -> None:
    assert (resources.files(wsproto_core) / "py.typed").is_file()


def test_metadata_has_an_spdx_license_and_project_urls() -> None:
    meta = metadata.metadata("wsproto-core")
    assert meta["License-Expression"] == "MIT"
    assert not [c for c in meta.get_all("Classifier") or () if c.startswith("License ::")]
    urls = {entry.split(",")[0].strip().lower() for entry in meta.get_all("Project-URL") or ()}
    assert {"documentation", "source", "changelog"} <= urls
    assert meta["Requires-Python"] == ">=3.10"


def test_mypy_finds_the_installed_package_from_a_users_project(tmp_path: Path) -> None:
    # From a folder outside the checkout, as a user's project is: with an editable install
    # this only works when the install is a plain path entry that mypy can follow.
    program = tmp_path / "user_program.py"
    program.write_text(USER_PROGRAM)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), program],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout
