"""The dumb-increment-protocol handler, from libwebsockets' test server.

The server sends a counter as decimal text every 50 ms, starting at 0. A
message of exactly ``reset\\n`` sets the counter back to 0; ``closeme\\n``
closes the connection with 1001. A client that does not offer the
``dumb-increment-protocol`` subprotocol is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..handlers import Handler, Refuse

if TYPE_CHECKING:
    from ..handlers import HandlerConnection

__all__ = ["SUBPROTOCOL", "Counter", "DumbIncrementHandler"]

SUBPROTOCOL = "dumb-increment-protocol"
"""The subprotocol a client must offer."""


class Counter:
    """The per-connection state: the next value to send.

    Attributes:
        value: The next number sent.
    """

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


class DumbIncrementHandler(Handler):
    """Counts up for each client, every ``interval`` seconds.

    Args:
        interval: Seconds between two numbers (50 ms, as libwebsockets does).
    """

    subprotocols = (SUBPROTOCOL,)

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval

    def on_connect(self, conn: HandlerConnection) -> None:
        """Refuse clients without the subprotocol; start the counter for the others.

        Raises:
            Refuse: 403 when ``dumb-increment-protocol`` was not offered.
        """
        if conn.subprotocol != SUBPROTOCOL:
            raise Refuse(403, f"the {SUBPROTOCOL} subprotocol is required")
        counter = Counter()
        conn.context = counter

        def tick() -> None:
            conn.send(str(counter.value))
            counter.value += 1

        conn.call_every(self.interval, tick)

    def on_message(self, conn: HandlerConnection, message: str | bytes) -> None:
        """Obey ``reset\\n`` and ``closeme\\n`` (as text or binary); ignore anything else."""
        command = message.encode() if isinstance(message, str) else message
        if command == b"reset\n":
            counter: Counter = conn.context
            counter.value = 0
        elif command == b"closeme\n":
            conn.close(1001, "closeme")
