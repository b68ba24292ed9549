"""The settings shared by the connections of one asyncio server or client."""

from __future__ import annotations

__all__ = ["Options"]


class Options:
    """The settings of the connections of one server or client.

    Attributes:
        open_timeout: Seconds allowed for the opening handshake.
        close_timeout: Seconds allowed for the closing handshake before the transport is cut.
        ping_interval: Seconds between keepalive pings (``None``: no keepalive).
        ping_timeout: Seconds to wait for a keepalive pong (``None``: forever).
        max_queue: Messages waiting for ``recv`` before reading pauses.
        write_limit: The transport's high-water mark in bytes (the low one is a quarter).
    """

    __slots__ = (
        "close_timeout",
        "max_queue",
        "open_timeout",
        "ping_interval",
        "ping_timeout",
        "write_limit",
    )

    def __init__(
        self,
        *,
        open_timeout: float | None = 10,
        close_timeout: float = 10,
        ping_interval: float | None = 20,
        ping_timeout: float | None = 20,
        max_queue: int = 16,
        write_limit: int = 64 * 1024,
    ) -> None:
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self.open_timeout = open_timeout
        self.close_timeout = close_timeout
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.max_queue = max_queue
        self.write_limit = write_limit
