"""A real ``redis-server`` for the tests: its own config on a free loopback port, no persistence.

Installed by ``.ci/install-peers`` (the Debian package). Without it the tests
that need it are skipped, except in CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading

import pytest

__all__ = ["RedisServer", "free_port", "require_redis"]

WAIT = 10.0


def require_redis() -> str:
    """The path of ``redis-server``, or skip (fail in CI) when it is not installed."""
    path = shutil.which("redis-server")
    if path is None:
        message = "redis-server is not installed (bash .ci/install-peers)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _options(port: int) -> list[str]:
    """Its own config: this port on loopback, no persistence, in the foreground."""
    return [
        *("--port", str(port), "--bind", "127.0.0.1"),
        *("--save", "", "--appendonly", "no", "--daemonize", "no"),
    ]


class RedisServer:
    """One ``redis-server`` process; :meth:`stop` it and :meth:`start` it again on the same port."""

    def __init__(self, port: int | None = None) -> None:
        self.executable = require_redis()
        self.port = port or free_port()
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start it and wait until it says it accepts connections."""
        process = self.process = subprocess.Popen(
            [self.executable, *_options(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        ready = threading.Event()
        log: list[str] = []

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                log.append(line)
                if "Ready to accept connections" in line:
                    ready.set()
            ready.set()  # it ended

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(WAIT) or process.poll() is not None:
            self.stop()
            raise AssertionError("redis-server did not start:\n" + "".join(log))
        return self

    def stop(self) -> None:
        """Stop it (SIGTERM) and wait for the process to end."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait(WAIT)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
