"""Play cases against a sans-IO connection in the same process: no sockets, no clock.

The testee is one of our :class:`~wsproto_core.ServerConnection` or
:class:`~wsproto_core.ClientConnection` (or anything with their interface),
driven by an echo application that answers every message while the events loop
is on it. Time is virtual: when neither side has anything to say, the peer's
deadline is reached at once, so a case that waits in vain costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..connection import ClientConnection, ServerConnection
from ..events import BytesMessage, Request, TextMessage
from ..extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)
from ..handshake import parse_uri
from .engine import CaseResult, CaseRun

if TYPE_CHECKING:
    from collections.abc import Callable

    from .cases import Case, Role

__all__ = ["echo_connection", "run_in_memory"]

URL = "ws://testee.invalid/echo"
"""The URI the in-memory peer and client testee use."""


def echo_connection(
    case: Case, testee: Role, *, max_message_size: int | None = None
) -> ServerConnection | ClientConnection:
    """One of our connections as an echo testee for ``case``.

    It speaks the case's version, accepts hixie-75 and offers or accepts
    permessage-deflate, like the servers and clients the adapters make.
    """
    if testee == "server":
        return ServerConnection(
            max_message_size=max_message_size,
            allow_draft75=True,
            extensions=[ServerPerMessageDeflateFactory()],
        )
    return ClientConnection(
        URL,
        version=case.version,
        max_message_size=max_message_size,
        extensions=[ClientPerMessageDeflateFactory()],
    )


def _application(conn: ServerConnection | ClientConnection) -> None:
    """Echo every message, accept the handshake: what Autobahn's testees do."""
    for event in conn.events():
        if isinstance(event, Request):
            assert isinstance(conn, ServerConnection)
            conn.accept()
        elif isinstance(event, TextMessage):
            conn.send_text(event.data)
        elif isinstance(event, BytesMessage):
            conn.send_binary(event.data)


def run_in_memory(
    case: Case,
    testee: Role,
    connection: Callable[[Case, Role], ServerConnection | ClientConnection] | None = None,
    *,
    max_message_size: int | None = None,
) -> CaseResult:
    """Play ``case`` against a connection of ours in memory and return the verdicts.

    Args:
        case: The case.
        testee: The role of the connection under test.
        connection: Makes the testee for a case and role (default :func:`echo_connection`).
        max_message_size: The testee's limit, for the default testee.
    """
    conn = (
        connection(case, testee)
        if connection is not None
        else echo_connection(case, testee, max_message_size=max_message_size)
    )
    now = [0.0]
    run = CaseRun(case, testee, uri=parse_uri(URL), clock=lambda: now[0])
    run.start()
    eof_sent = eof_received = False
    while not run.done:
        moved = False
        for data in run.writes():
            moved = True
            if not eof_sent:
                conn.receive_data(data)
                _application(conn)
        if run.close_transport and not eof_sent:
            eof_sent = True
            conn.receive_data(b"")
            _application(conn)
        out = conn.data_to_send()
        if out:
            moved = True
            run.receive_data(out)
        elif conn.should_close_transport and not eof_received:
            moved = eof_received = True
            run.receive_data(b"")
        if not moved and not run.done:
            assert run.deadline is not None
            now[0] = max(now[0], run.deadline)
            run.on_deadline()
    run.writes()
    return run.result()
