"""One contract-suite server in a process of its own, so a test can read its memory (RSS).

``python contract_server.py ADAPTER HANDLER`` serves ``HANDLER`` with ``ADAPTER``
(``asyncio`` or ``threading``) on 127.0.0.1, keepalive off, prints ``port N``,
then answers commands read from stdin, one a line:

``mark``
    Reset the process's peak RSS to its current RSS (Linux: ``/proc/self/clear_refs``)
    and print ``rss BYTES``.
``peak``
    Print ``peak BYTES``, the peak RSS since the last ``mark``.
``sent``
    Print ``sent N DONE``: how many messages :class:`Sender` has sent, and
    whether it is done (``1``) or still sending (``0``).

At the end of stdin it shuts the server down and exits.

The handlers: ``echo`` (:class:`~wsproto_core.examples.EchoHandler`) and
``sender`` (:class:`Sender`).

Why a process of its own: the kernel's count of resident pages costs nothing,
where tracemalloc in the test process makes every allocation slow (a flood of
pings, a message in 200,000 fragments: ten times slower to parse under it).
"""

from __future__ import annotations

import re
import sys
import threading
from typing import TYPE_CHECKING

from contract_helpers import run_server

from wsproto_core.examples import EchoHandler
from wsproto_core.handlers import Handler

if TYPE_CHECKING:
    from wsproto_core.handlers import HandlerConnection

__all__ = ["SENDER_COUNT", "Sender", "main", "status"]

SENDER_COUNT = 50_000
"""How many 1 KiB messages :class:`Sender` sends."""


class Sender(Handler):
    """Sends :data:`SENDER_COUNT` messages of 1 KiB from its first ``call_every`` tick."""

    def __init__(self) -> None:
        self.sent = 0
        self.done = threading.Event()

    def on_connect(self, conn: HandlerConnection) -> None:
        def tick() -> None:
            timer.cancel()
            message = b"s" * 1024
            for _ in range(SENDER_COUNT):
                conn.send(message)
                self.sent += 1
            self.done.set()

        timer = conn.call_every(0.01, tick)


def status(field: str) -> int:
    """A ``kB`` field of ``/proc/self/status`` (``VmRSS``, ``VmHWM``), in bytes."""
    with open("/proc/self/status") as file:
        match = re.search(rf"^{field}:\s+(\d+) kB$", file.read(), re.MULTILINE)
    assert match is not None, field
    return int(match.group(1)) * 1024


def main(adapter: str, handler_name: str) -> None:
    """Serve, print the port, answer the commands until stdin ends."""
    sender = Sender()
    handler = {"echo": EchoHandler(), "sender": sender}[handler_name]
    with run_server(adapter, handler, ping_interval=None, close_timeout=1) as server:
        print(f"port {server.port}", flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "mark":
                with open("/proc/self/clear_refs", "w") as file:
                    file.write("5")  # VmHWM := VmRSS
                print(f"rss {status('VmRSS')}", flush=True)
            elif command == "peak":
                print(f"peak {status('VmHWM')}", flush=True)
            elif command == "sent":
                print(f"sent {sender.sent} {int(sender.done.is_set())}", flush=True)
            else:
                print(f"error unknown command {command!r}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
