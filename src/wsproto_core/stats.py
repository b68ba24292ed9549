"""What a server holds: :class:`ServerStats`, the snapshot ``Server.stats()`` returns.

Both servers count as they go, at the cost of an integer addition per read, per
write and per message, on the connection's own object (no lock, no shared
counter on the hot path). ``stats()`` adds up the open connections' counts and
those of the connections already gone, so a snapshot costs time in proportion to
the connections open, and nothing while nobody asks.

The same snapshot is what ``serve --stats-interval`` logs (:meth:`ServerStats.log_line`)
and what :meth:`Router.add_stats_endpoint <wsproto_core.handlers.Router.add_stats_endpoint>`
answers as JSON (:meth:`ServerStats.as_dict`).
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["ServerStats", "Traffic", "rss_bytes"]


class Traffic:
    """What went through connections: messages and bytes, each way; mutable counters.

    Each connection counts its own; a server keeps one more for the connections
    that are gone (see :meth:`add`).

    Attributes:
        messages_in: Data messages (text and binary) received and handed to the application.
        messages_out: Data messages the application sent.
        bytes_in: Bytes read from the stream: the HTTP handshake, every frame (control
            frames too), after TLS decryption.
        bytes_out: Bytes written to the stream, the same way.
    """

    __slots__ = ("bytes_in", "bytes_out", "messages_in", "messages_out")

    def __init__(self) -> None:
        self.messages_in = 0
        self.messages_out = 0
        self.bytes_in = 0
        self.bytes_out = 0

    def copy(self) -> Traffic:
        """A new counter with the same counts."""
        copy = Traffic()
        copy.add(self.messages_in, self.messages_out, self.bytes_in, self.bytes_out)
        return copy

    def add(self, messages_in: int, messages_out: int, bytes_in: int, bytes_out: int) -> None:
        """Add a connection's counts (when it is gone, or to sum up)."""
        self.messages_in += messages_in
        self.messages_out += messages_out
        self.bytes_in += bytes_in
        self.bytes_out += bytes_out


@dataclass(frozen=True, slots=True)
class ServerStats:
    """A snapshot of one server (one process): its connections, its traffic, its memory.

    Counts start when the server is created; "in" is from the clients, "out" to them.

    Attributes:
        pid: The server's process id (each ``serve --workers`` process has its own server).
        uptime: Seconds since the server was created.
        connections: Open WebSocket connections: handshake done, stream not closed yet
            (connections in their closing handshake included).
        handshaking: Accepted streams whose opening handshake (TLS included) is not
            done yet, plain HTTP requests being answered included.
        accepted: Streams accepted since the start, whatever became of them (WebSocket
            connections, plain HTTP requests, refused handshakes); not the 503s of ``refused``.
        refused: Streams answered ``503 Service Unavailable`` because
            ``max_connections`` were open.
        messages_in: Data messages received (text and binary, not control frames).
        messages_out: Data messages sent.
        bytes_in: Bytes read from clients: HTTP requests and handshakes, and every
            frame, after TLS decryption (TCP/IP and TLS overhead excluded).
        bytes_out: Bytes written to clients, counted the same way.
        rss: The process's resident set size now, in bytes (``/proc/self/statm``);
            ``None`` where there is no ``/proc`` (not Linux).
    """

    pid: int
    uptime: float
    connections: int
    handshaking: int
    accepted: int
    refused: int
    messages_in: int
    messages_out: int
    bytes_in: int
    bytes_out: int
    rss: int | None

    @classmethod
    def now(
        cls,
        *,
        started: float,
        connections: int,
        handshaking: int,
        accepted: int,
        refused: int,
        traffic: Traffic,
    ) -> ServerStats:
        """The snapshot of a server started at ``started`` (``time.monotonic()``), in this
        process, with its memory read now."""
        return cls(
            pid=os.getpid(),
            uptime=time.monotonic() - started,
            connections=connections,
            handshaking=handshaking,
            accepted=accepted,
            refused=refused,
            messages_in=traffic.messages_in,
            messages_out=traffic.messages_out,
            bytes_in=traffic.bytes_in,
            bytes_out=traffic.bytes_out,
            rss=rss_bytes(),
        )

    def as_dict(self) -> dict[str, Any]:
        """The fields by name, ready for :func:`json.dumps`."""
        return asdict(self)

    def log_line(self) -> str:
        """One line of ``name=value`` pairs: ``stats pid=... connections=... rss=...``."""
        rss = "unknown" if self.rss is None else f"{self.rss / 2**20:.1f}MiB"
        return (
            f"stats pid={self.pid} uptime={self.uptime:.0f}s connections={self.connections} "
            f"handshaking={self.handshaking} accepted={self.accepted} refused={self.refused} "
            f"messages_in={self.messages_in} messages_out={self.messages_out} "
            f"bytes_in={self.bytes_in} bytes_out={self.bytes_out} rss={rss}"
        )


def rss_bytes() -> int | None:
    """The resident set size of this process now, in bytes; ``None`` without ``/proc``.

    Linux's ``/proc/self/statm`` gives it in pages (its second field). The
    ``resource`` module only knows the peak (``ru_maxrss``), which is not what a
    server holds now, so it is not used as a fallback.
    """
    try:
        with open("/proc/self/statm", "rb") as statm:
            resident = int(statm.read().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return resident * os.sysconf("SC_PAGE_SIZE")
