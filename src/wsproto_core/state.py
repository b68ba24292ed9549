"""The life of a connection: its states, every transition, and what the transport must do.

A :class:`~wsproto_core.connection.Connection` moves between the states of
:class:`Phase` only through :func:`transition`, which looks the move up in one
table per role. :class:`Phase` is finer than the public
:class:`ConnectionState`: it tells a failing connection from one that is
closing cleanly, and a closed connection that waits for the peer's EOF from one
whose stream is to be closed. From the phase follow the public state and the
:class:`TransportAction`, so no adapter writes its own policy for the TCP
stream.

The table (server role; the client differs in one place, noted)::

    CONNECTING  --accepted-->        OPEN
    CONNECTING  --refused-->         DRAINING      (an HTTP error went out, or the handshake failed)
    CONNECTING  --refusing-->        REFUSING      (a streamed HTTP refusal began: its status
    REFUSING    --refused-->         DRAINING       and headers are out, its body follows)
    OPEN        --close sent-->      CLOSING       (RFC 6455 §7.1.2)
    OPEN        --failed in step-->  FAILING       (a size limit seen in a frame header: our
                                                    close is out, the peer's can still be read)
    OPEN        --failed-->          DRAINING      (the framing is lost: RFC 6455 §7.1.7)
    OPEN        --close received-->  DRAINING      (client: AWAIT_EOF; RFC 6455 §7.1.1:
    CLOSING     --close received-->  DRAINING       the server closes the TCP stream first)
    FAILING     --close received-->  DRAINING
    CLOSING, FAILING --expired-->    DRAINING      (the adapter's wait for the peer's close ran out)
    AWAIT_EOF, DRAINING --expired--> CLOSED
    any state   --EOF-->             CLOSED
    CONNECTING, REFUSING, OPEN       DRAINING      (closed by this side with no closing
             --abandoned-->                         handshake: before the opening one, in the
                                                    middle of a refusal's body, or draft-75)
"""

from __future__ import annotations

import enum

__all__ = [
    "FAILURE_GRACE",
    "ConnectionState",
    "Phase",
    "TransportAction",
    "Trigger",
    "transition",
]

FAILURE_GRACE = 1.0
"""Seconds an adapter waits for the peer's close after failing the connection in step.

Long enough for a peer that reads while it sends (a browser, through a proxy) to
have read our close frame before the stream is shut down; short enough that a
peer announcing a frame it never finishes cannot hold the connection.
"""


class ConnectionState(enum.Enum):
    """Where a connection is in its life (RFC 6455 §4, §7)."""

    CONNECTING = "CONNECTING"
    """The opening handshake is under way."""
    OPEN = "OPEN"
    """Data may flow both ways."""
    CLOSING = "CLOSING"
    """This side sent a close frame and waits for the peer's."""
    CLOSED = "CLOSED"
    """The closing handshake is done, the handshake or connection failed, or the stream ended."""


class TransportAction(enum.Enum):
    """What an adapter does with the TCP stream, after writing every byte the connection owes.

    Read from :attr:`~wsproto_core.connection.Connection.transport_action`
    after each call into the connection.
    """

    NONE = "none"
    """Keep reading and writing."""
    WAIT = "wait"
    """Keep reading: the peer owes us its close frame, or (a client after the closing
    handshake) its EOF. When the adapter's close timeout runs out, call
    :meth:`~wsproto_core.connection.Connection.expire`."""
    WAIT_BRIEFLY = "wait briefly"
    """We failed the connection for a size limit; the peer's close can still be read in step.
    Keep reading, but call :meth:`~wsproto_core.connection.Connection.expire` after
    :data:`FAILURE_GRACE` seconds (or the close timeout, if
    shorter): a peer that was sending a huge frame may never get to its close."""
    HALF_CLOSE = "half-close"
    """Shut down the writing side (TCP FIN; TLS: close), then read and discard until the
    peer's EOF. Closing with the peer's bytes unread would reset the stream, and a reset can
    destroy our last frames before the peer reads them. Call
    :meth:`~wsproto_core.connection.Connection.expire` (or abort) after the close timeout."""
    CLOSE = "close"
    """Close the stream: the peer ended its side, or our wait for it ran out."""


class Phase(enum.Enum):
    """The internal states: :class:`ConnectionState` split where the transport's fate differs."""

    CONNECTING = "connecting"
    REFUSING = "refusing"
    """A server streams an HTTP response refusing the handshake: the stream stays open
    until its body ends (the public state is still ``CONNECTING``)."""
    OPEN = "open"
    CLOSING = "closing"
    """We sent a close frame and wait for the peer's."""
    FAILING = "failing"
    """We failed the connection; its close frame is out and the peer's may still come in step."""
    AWAIT_EOF = "await EOF"
    """A client after the closing handshake: the server closes the stream first."""
    DRAINING = "draining"
    """Done; our side of the stream is to be shut down, the peer's bytes discarded until EOF."""
    CLOSED = "closed"
    """Done, and the stream is to be closed."""

    @property
    def public(self) -> ConnectionState:
        """The state the application sees."""
        return _PUBLIC[self]

    @property
    def action(self) -> TransportAction:
        """What the adapter does with the stream in this phase."""
        return _ACTION[self]


class Trigger(enum.Enum):
    """What moves a connection from one phase to another."""

    ACCEPTED = "the opening handshake succeeded"
    REFUSING = "this side began a streamed HTTP response refusing the handshake"
    REFUSED = "the opening handshake failed or was refused"
    ABANDONED = "this side closed without a closing handshake"
    CLOSE_SENT = "this side sent a close frame"
    CLOSE_RECEIVED = "the peer's close frame was received (and answered)"
    FAILED_IN_STEP = "this side failed the connection; the peer's close can still be read"
    FAILED = "this side failed the connection; the framing is lost"
    EOF = "the stream ended"
    EXPIRED = "the adapter's wait for the peer ran out"


_PUBLIC = {
    Phase.CONNECTING: ConnectionState.CONNECTING,
    Phase.REFUSING: ConnectionState.CONNECTING,
    Phase.OPEN: ConnectionState.OPEN,
    Phase.CLOSING: ConnectionState.CLOSING,
    Phase.FAILING: ConnectionState.CLOSING,
    Phase.AWAIT_EOF: ConnectionState.CLOSED,
    Phase.DRAINING: ConnectionState.CLOSED,
    Phase.CLOSED: ConnectionState.CLOSED,
}

_ACTION = {
    Phase.CONNECTING: TransportAction.NONE,
    Phase.REFUSING: TransportAction.NONE,
    Phase.OPEN: TransportAction.NONE,
    Phase.CLOSING: TransportAction.WAIT,
    Phase.FAILING: TransportAction.WAIT_BRIEFLY,
    Phase.AWAIT_EOF: TransportAction.WAIT,
    Phase.DRAINING: TransportAction.HALF_CLOSE,
    Phase.CLOSED: TransportAction.CLOSE,
}

_P = Phase
_T = Trigger

_SERVER: dict[tuple[Phase, Trigger], Phase] = {
    (_P.CONNECTING, _T.ACCEPTED): _P.OPEN,
    (_P.CONNECTING, _T.REFUSED): _P.DRAINING,
    (_P.CONNECTING, _T.ABANDONED): _P.DRAINING,
    (_P.CONNECTING, _T.REFUSING): _P.REFUSING,
    (_P.REFUSING, _T.REFUSED): _P.DRAINING,
    (_P.REFUSING, _T.ABANDONED): _P.DRAINING,
    (_P.OPEN, _T.CLOSE_SENT): _P.CLOSING,
    (_P.OPEN, _T.CLOSE_RECEIVED): _P.DRAINING,
    (_P.OPEN, _T.FAILED_IN_STEP): _P.FAILING,
    (_P.OPEN, _T.FAILED): _P.DRAINING,
    (_P.OPEN, _T.ABANDONED): _P.DRAINING,
    (_P.CLOSING, _T.CLOSE_RECEIVED): _P.DRAINING,
    (_P.CLOSING, _T.FAILED): _P.DRAINING,
    (_P.CLOSING, _T.EXPIRED): _P.DRAINING,
    (_P.FAILING, _T.CLOSE_RECEIVED): _P.DRAINING,
    (_P.FAILING, _T.FAILED): _P.DRAINING,
    (_P.FAILING, _T.EXPIRED): _P.DRAINING,
    (_P.AWAIT_EOF, _T.EXPIRED): _P.CLOSED,
    (_P.DRAINING, _T.EXPIRED): _P.CLOSED,
    (_P.CLOSED, _T.EXPIRED): _P.CLOSED,
    **{(phase, _T.EOF): _P.CLOSED for phase in Phase},
}

# RFC 6455 §7.1.1: the server closes the TCP connection first; a client that completed
# the closing handshake waits for it (its adapter gives up after the close timeout).
_CLIENT = {
    **_SERVER,
    (_P.OPEN, _T.CLOSE_RECEIVED): _P.AWAIT_EOF,
    (_P.CLOSING, _T.CLOSE_RECEIVED): _P.AWAIT_EOF,
    (_P.FAILING, _T.CLOSE_RECEIVED): _P.AWAIT_EOF,
}

TABLES: dict[bool, dict[tuple[Phase, Trigger], Phase]] = {False: _SERVER, True: _CLIENT}
"""The transition table of each role, keyed by ``client``."""


def transition(client: bool, phase: Phase, trigger: Trigger) -> Phase:
    """Return the phase ``trigger`` leads to from ``phase``.

    Raises:
        KeyError: The move is not in the table (a bug in the caller: the
            connection checks what the application may do before moving).
    """
    return TABLES[client][phase, trigger]
