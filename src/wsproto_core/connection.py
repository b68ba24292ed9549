"""The sans-IO state machine: one object per WebSocket connection, either role.

Bytes in (:meth:`Connection.receive_data`), events out (:meth:`Connection.events`),
bytes to send (:meth:`Connection.data_to_send`). The connection never touches a
socket, a clock, a thread or an event loop; an adapter feeds it what it reads
and writes what it owes.

The connection owns the rules every adapter would otherwise have to know:

* automatic replies (a pong for every ping, the echo of the peer's close, the
  close frame that fails a connection whose peer broke the protocol) are queued
  in the one outgoing buffer;
* errors in the peer's bytes never raise: they end in a
  :class:`~wsproto_core.events.Close` or :class:`~wsproto_core.events.HandshakeFailed`
  event, with the bytes owed queued by the time the application sees it;
* :attr:`Connection.should_close_transport` says when to close the TCP stream
  (RFC 6455 §7.1.1: the server first, the client once the server has).

Events are live and ordered. :meth:`Connection.events` yields from one queue
that it reads as it goes, so an event made while the application handles an
earlier one (the frames a client pipelined behind its request, released by
:meth:`ServerConnection.accept`) comes out of the same loop. The codecs still
parse every complete frame of a read at once; what the connection owes because
of an event is deferred until :meth:`~Connection.events` yields that event:

* a ``Ping``: its pong is queued then;
* a ``Close``: the close echo, or the failure close when the peer broke the
  protocol (the codec stops at the bad byte; the connection queues a
  ``Close(code, reason, by_peer=False)`` in its place), and the move to
  ``CLOSING`` or ``CLOSED`` with :attr:`~Connection.should_close_transport`,
  happen then; nothing follows a ``Close``.

So whatever the application sends while it handles event *k* is queued before
anything owed for the bytes after *k*: the reply to a message goes out before
the close that fails the connection for a bad frame behind it, and the
connection is still ``OPEN`` for that reply. :attr:`~Connection.state`,
:meth:`~Connection.data_to_send` and :attr:`~Connection.should_close_transport`
reflect only what was yielded; :attr:`~Connection.pending_close` tells an
adapter that a ``Close`` is waiting. After a failure the codec ignores the
peer's bytes (or, after a size limit, only looks for its close frame), so the
queue cannot grow behind a pending failure.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, cast

from .codec.hixie import HixieCodec
from .codec.rfc6455 import Rfc6455Codec
from .errors import HandshakeError, InvalidState, ProtocolError
from .events import Accept, Close, HandshakeFailed, Ping, Reject, Request
from .handshake.client import ClientHandshake
from .handshake.server import ServerHandshake
from .handshake.uri import parse_uri
from .state import ConnectionState, Phase, TransportAction, Trigger, transition
from .versions import SUPPORTED_VERSIONS, profile

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from .broadcast import PreparedMessage
    from .codec import Codec
    from .codec.hixie import HixieVersion
    from .events import Event, HTTPRequest
    from .extensions import ClientExtensionFactory, Extension, ServerExtensionFactory
    from .versions import ProtocolVersion

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "ClientConnection",
    "Connection",
    "ServerConnection",
]

DEFAULT_MAX_MESSAGE_SIZE = 32 * 2**20
"""32 MiB, the default of Apache mod_websocket's ``MaxMessageSize``."""

_MAX_REASON_BYTES = 123  # a close payload is at most 125 bytes, 2 of them the code (RFC 6455 §5.5)


_CONNECTING = ConnectionState.CONNECTING
_OPEN = ConnectionState.OPEN
_CLOSING = ConnectionState.CLOSING
_CLOSED = ConnectionState.CLOSED
_CLOSE_ACTIONS = (TransportAction.HALF_CLOSE, TransportAction.CLOSE)


def _truncate_reason(reason: str) -> str:
    """Cut ``reason`` to what fits in a close frame, on a code point boundary."""
    encoded = reason.encode("utf-8")
    if len(encoded) <= _MAX_REASON_BYTES:
        return reason
    return encoded[:_MAX_REASON_BYTES].decode("utf-8", "ignore")


class Connection:
    """What both roles share. Create a :class:`ServerConnection` or a :class:`ClientConnection`.

    Attributes:
        max_message_size: The limit on a received message's size in bytes (``None``: no
            limit), checked on the running total from each frame header before the
            payload is buffered. Exceeding it closes with 1009 (1004 on versions 7 and 8).
        max_frame_size: An optional limit on one received frame's payload.
        stream_messages: Deliver messages in chunks as they arrive (``final`` marks
            the last) instead of whole.
    """

    __slots__ = (
        "_close_sent",
        "_codec",
        "_eof_behind",
        "_events",
        "_extensions",
        "_failed",
        "_failure",
        "_out",
        "_peer_closed",
        "_peer_done",
        "_phase",
        "_profile",
        "_should_close",
        "_state",
        "_subprotocol",
        "_version",
        "max_frame_size",
        "max_message_size",
        "stream_messages",
    )

    _client: bool = False

    def __init__(
        self,
        *,
        max_message_size: int | None,
        max_frame_size: int | None,
        stream_messages: bool,
    ) -> None:
        if max_message_size is not None and max_message_size < 0:
            raise ValueError("max_message_size must be None or >= 0")
        if max_frame_size is not None and max_frame_size < 0:
            raise ValueError("max_frame_size must be None or >= 0")
        self.max_message_size = max_message_size
        self.max_frame_size = max_frame_size
        self.stream_messages = stream_messages
        # The phase (see wsproto_core.state), and what follows from it, kept at hand:
        # only _to() assigns these three.
        self._phase = Phase.CONNECTING
        self._state = _CONNECTING
        self._should_close = False
        # Events not yet yielded, in order; events() pops them and applies their effects.
        self._events: deque[Event] = deque()
        # The peer's EOF came after frames the codec has not parsed yet (see _resume).
        self._eof_behind = False
        self._out: list[bytes] = []
        self._codec: Codec | None = None
        self._version: ProtocolVersion | None = None
        self._subprotocol: str | None = None
        self._extensions: list[Extension] = []
        self._close_sent = False
        # The peer broke the protocol: its failure Close is queued (``_failure``, until
        # events() yields it) or was yielded; the peer's bytes no longer count.
        self._failed = False
        self._failure: Close | None = None
        # The stream ended: once the pending Close is acted on, so is the connection.
        self._peer_done = False
        # The peer's close frame arrived after a failure, before its Close was yielded.
        self._peer_closed = False

    def _to(self, trigger: Trigger) -> None:
        """The one place the phase changes: a move of the table in :mod:`wsproto_core.state`."""
        phase = self._phase = transition(self._client, self._phase, trigger)
        self._state = phase.public
        self._should_close = phase.action in _CLOSE_ACTIONS

    # -- what the adapter reads ------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        """The connection state."""
        return self._state

    @property
    def should_close_transport(self) -> bool:
        """True once the adapter must close the TCP stream, after writing :meth:`data_to_send`.

        A server closes the stream as soon as the closing handshake is done
        (RFC 6455 §7.1.1). A client waits for the server to close it: after a
        clean closing handshake this stays ``False`` until EOF arrives, and the
        client adapter closes the stream itself if the server does not within
        its close timeout. Any failure (a refused handshake, a protocol error,
        EOF) makes it ``True`` at once, except a failure for a size limit
        while the peer's close can still be read (see :attr:`transport_action`).
        """
        return self._should_close

    @property
    def transport_action(self) -> TransportAction:
        """What the adapter does with the stream now, after writing :meth:`data_to_send`.

        ``NONE`` while the connection is open; ``WAIT`` or ``WAIT_BRIEFLY``
        while it waits for the peer (call :meth:`expire` when the wait runs
        out); ``HALF_CLOSE`` (send EOF, read and discard until the peer's) or
        ``CLOSE`` once it is done. :attr:`should_close_transport` is ``True``
        for the last two.
        """
        return self._phase.action

    def expire(self) -> None:
        """Tell the connection that the adapter's wait for the peer ran out.

        Call it when the close timeout passes in a ``WAIT`` or ``HALF_CLOSE``
        action, or :data:`~wsproto_core.state.FAILURE_GRACE` in ``WAIT_BRIEFLY``.
        Waiting for the peer's close, the connection gives up on it (a ``Close``
        event with 1006 follows, RFC 6455 §7.1.5, unless a ``Close`` is already
        waiting in :meth:`events`) and moves to ``HALF_CLOSE``; waiting for the
        peer's EOF, it moves to ``CLOSE``. Does nothing in other states.
        """
        phase = self._phase
        if phase.action is TransportAction.NONE or phase is Phase.CLOSED:
            return
        if phase is Phase.CLOSING and self.pending_close is None:
            self._events.append(Close(1006, "no close frame received", by_peer=False))
        self._to(Trigger.EXPIRED)

    @property
    def protocol_version(self) -> ProtocolVersion | None:
        """The negotiated protocol: 13, 8, 7, ``"hixie-76"``, ``"hixie-75"``, or ``None`` yet."""
        return self._version

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol in use, once the handshake is done, or ``None``."""
        return self._subprotocol

    @property
    def extensions(self) -> tuple[Extension, ...]:
        """The extensions in use, once the handshake is done."""
        return tuple(self._extensions)

    @property
    def pending_close(self) -> Close | None:
        """The ``Close`` event :meth:`events` has yet to yield, or ``None``.

        Until it is yielded the connection has not acted on it: the close echo
        or the failure close is not queued and the state has not changed. An
        adapter that hands messages to a queue instead of answering them while
        it iterates can stop iterating while this is set and messages wait
        unread, and go on once the application comes back for more, so the
        replies to those messages go out first.
        """
        try:
            last = self._events[-1]  # one step: an adapter's other thread may pop meanwhile
        except IndexError:
            return None
        return last if type(last) is Close else None

    @property
    def pending_failure(self) -> Close | None:
        """:attr:`pending_close` when the peer did not send it, or ``None``.

        That ``Close`` ends the connection without a closing handshake the
        application could take part in: the peer broke the protocol (1002,
        1007, 1009...) or the stream ended (1006). It is what an adapter holds
        back while the application may still answer the messages before it;
        the peer's own close is answered at once.
        """
        pending = self.pending_close
        return None if pending is None or pending.by_peer else pending

    def events(self) -> Iterator[Event]:
        """Yield the events produced so far, in order, forgetting each one as it is yielded.

        The iterator is live: events made while the application handles one
        (the frames :meth:`ServerConnection.accept` releases, the bytes fed to
        :meth:`receive_data` meanwhile) come out of the same loop. What the
        connection owes for an event is queued, and the state it leads to
        entered, when the event is yielded: the pong for a ``Ping``; the close
        echo, or the failure close, for a ``Close``. Replies the application
        sends while handling an event therefore precede anything owed for the
        events after it. Events not yet yielded when the loop stops wait for
        the next call.
        """
        queue = self._events
        popleft = queue.popleft
        while True:
            while queue:
                event = popleft()
                kind = type(event)
                if kind is Ping:
                    self._answer_ping(event)  # type: ignore[arg-type]
                elif kind is Close:
                    self._act_on_close(event)  # type: ignore[arg-type]
                yield event
            # Frames the codec left in its buffer at its decode budget: parsed only now
            # that the application took the events before them.
            codec = self._codec
            if codec is None or not codec.pending or not self._resume(codec):
                return

    def data_to_send(self) -> bytes:
        """Return every byte owed to the peer, automatic replies included, and forget them."""
        out = self._out
        if not out:
            return b""
        self._out = []
        return b"".join(out)

    # -- bytes from the network ---------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Feed bytes received from the peer; ``b""`` means the stream ended (EOF).

        Never raises because of what the bytes contain: a protocol violation
        produces a ``Close`` event with ``by_peer=False``, after the events of
        the bytes before it (the failure close frame is queued when
        :meth:`events` yields it); an invalid handshake produces ``HandshakeFailed``.
        """
        codec = self._codec
        if codec is None:
            self._receive_handshake(data)
        elif not data:
            self._receive_eof()
        elif self._state is _OPEN or self._state is _CLOSING:
            self._receive_frames(codec, data)
        # In CLOSED, the peer's bytes have no meaning left: drop them.

    def _receive_handshake(self, data: bytes) -> None:
        raise NotImplementedError  # each role implements it

    def _receive_frames(self, codec: Codec, data: bytes) -> None:
        if self._failed:
            self._await_close_after_failure(codec, data)
            return
        try:
            codec.receive(data, self._events)
        except ProtocolError as error:
            # _Fail the WebSocket Connection_ (RFC 6455 §7.1.7) once the application
            # reaches this point of the stream: the events before the bad byte come first.
            failure = Close(error.close_code, _truncate_reason(error.reason), by_peer=False)
            self._failure = failure
            self._failed = True
            self._events.append(failure)

    def _answer_ping(self, event: Ping) -> None:
        # RFC 6455 §5.5.2: a pong with the ping's application data, unless a close was
        # received (nothing follows a Close). Having sent our own close does not exempt
        # us: pongs are control frames (§5.5.1).
        codec = self._codec
        assert codec is not None
        self._out.append(codec.send_pong(event.payload))

    def _act_on_close(self, event: Close) -> None:
        """Do what a ``Close`` event means, as :meth:`events` yields it; it is the last event."""
        self._events.clear()
        if self._state is _CLOSED:
            pass  # the adapter's wait ran out (expire()) before the application got here
        elif event is self._failure:
            self._failure = None
            self._fail(event)
        elif event.by_peer:
            self._receive_close(event)
        # Otherwise the stream ended (1006, and _peer_done is set), or the connection was
        # closed without a closing handshake (expire(), or close() on draft-75): nothing to do.
        if self._peer_done:
            self._to(Trigger.EOF)

    def _receive_close(self, event: Close) -> None:
        # RFC 6455 §5.5.1: answer a close with a close, echoing the status code.
        if not self._close_sent:
            codec = self._codec
            assert codec is not None
            code = None if event.code == 1005 else event.code
            self._send_close_frame(codec, code, "")
        self._to(Trigger.CLOSE_RECEIVED)

    def _await_close_after_failure(self, codec: Codec, data: bytes) -> None:
        """Discard the peer's frames until its close answers ours (the failure was reported)."""
        answer: list[Event] = []
        try:
            codec.receive(data, answer)
        except ProtocolError:
            # Out of step: the peer's close cannot be found any more.
            if self._failure is None and self._phase is Phase.FAILING:
                self._to(Trigger.FAILED)
            return
        if answer:
            if self._failure is not None:
                self._peer_closed = True  # acted on with the failure, when it is yielded
            elif self._phase is Phase.FAILING:
                self._to(Trigger.CLOSE_RECEIVED)

    def _resume(self, codec: Codec) -> bool:
        """Parse the frames the codec left buffered, and the EOF behind them; any events?"""
        if self._state is not _OPEN and self._state is not _CLOSING:
            return False  # closed meanwhile (expire()): they no longer count
        self._receive_frames(codec, b"")
        if self._eof_behind and not codec.pending:
            self._eof_behind = False
            self._receive_eof()
        return bool(self._events)

    def _receive_eof(self) -> None:
        codec = self._codec
        if codec is not None and codec.pending and not self._failed:
            self._eof_behind = True  # the stream ended after frames not parsed yet
            return
        self._peer_done = True
        if self.pending_close is not None:
            return  # acted on, the stream closed too, when events() yields it
        if self._state is _CLOSED or self._failed:
            # After a failure, its Close event was the last one: nothing more to report.
            self._to(Trigger.EOF)
        elif not self._profile.closing_handshake:
            # draft-75 has no closing handshake: the peer closing the stream is how it closes.
            self._events.append(Close(1005, ""))
        else:
            # RFC 6455 §7.1.5: closed with no close frame received: 1006.
            reason = "connection closed without a closing handshake"
            self._events.append(Close(1006, reason, by_peer=False))

    def _fail(self, failure: Close) -> None:
        """_Fail the WebSocket Connection_ (RFC 6455 §7.1.7): close frame, then close the stream."""
        codec = self._codec
        assert codec is not None
        if self._close_sent:
            self._to(Trigger.FAILED)
            return
        self._send_close_frame(codec, failure.code, failure.reason)
        if not codec.draining:
            self._to(Trigger.FAILED)
            return
        # The framing is still in step (a size limit seen in a header): wait, briefly,
        # for the peer's close as in a normal closing handshake, so the stream is not
        # closed under bytes the peer is still sending. Closing then can reset the
        # stream, and a reset (through a proxy too) can lose our close frame.
        self._to(Trigger.FAILED_IN_STEP)
        if self._peer_closed:
            self._to(Trigger.CLOSE_RECEIVED)

    def _send_close_frame(self, codec: Codec, code: int | None, reason: str) -> None:
        # draft-75 has no closing handshake: closing the stream is the close.
        if self._profile.closing_handshake:
            # Encode first: an invalid code or reason raises and leaves the connection as it was.
            self._out.append(codec.send_close(code, reason))
        self._close_sent = True

    # -- the application's side -------------------------------------------------

    def _open_codec(self, version: ProtocolVersion, extensions: Sequence[Extension]) -> Codec:
        if not self._profile.hixie:
            return Rfc6455Codec(
                client=self._client,
                version=cast("int", version),
                max_message_size=self.max_message_size,
                max_frame_size=self.max_frame_size,
                stream_messages=self.stream_messages,
                extensions=extensions,
            )
        return HixieCodec(
            version=cast("HixieVersion", version),
            max_message_size=self.max_message_size,
            stream_messages=self.stream_messages,
        )

    def _start(
        self, version: ProtocolVersion, subprotocol: str | None, extensions: Sequence[Extension]
    ) -> Codec:
        self._version = version
        self._profile = profile(version)
        self._subprotocol = subprotocol
        self._extensions = list(extensions)
        codec = self._codec = self._open_codec(version, extensions)
        self._to(Trigger.ACCEPTED)
        return codec

    def _sending_codec(self, what: str) -> Codec:
        codec = self._codec
        if self._state is not _OPEN or codec is None:
            if self._close_sent:
                raise InvalidState(f"cannot {what}: a close frame was already sent", self._state)
            raise InvalidState(f"cannot {what} in state {self._state.value}", self._state)
        return codec

    def send_text(self, data: str, final: bool = True) -> None:
        """Queue a text message, or a fragment of one when ``final`` is ``False``.

        Fragments of one message are sent by calls with ``final=False`` and a
        last call with ``final=True``.

        Raises:
            InvalidState: The connection is not open (or a close frame was sent).
        """
        self._out.append(self._sending_codec("send a message").send_text(data, final))

    def send_binary(self, data: bytes, final: bool = True) -> None:
        """Queue a binary message, or a fragment of one when ``final`` is ``False``.

        Raises:
            InvalidState: The connection is not open (or a close frame was sent).
            UnsupportedOperation: The peer speaks a hixie draft, which has no binary messages.
        """
        self._out.append(self._sending_codec("send a message").send_binary(data, final))

    def send_prepared(self, message: PreparedMessage) -> None:
        """Queue a message prepared for many connections (a broadcast).

        Its frames are encoded once for every connection whose framing is the
        same (see :class:`~wsproto_core.broadcast.PreparedMessage`), else for
        this one.

        Raises:
            InvalidState: The connection is not open, or a fragmented message
                is being sent (its fragments may not be interleaved).
            UnsupportedOperation: Binary on a hixie draft.
        """
        codec = self._sending_codec("send a message")
        if codec.fragmenting:
            raise InvalidState("a fragmented message is being sent; finish it first", self._state)
        self._out.append(message.frames_for(codec))

    def ping(self, payload: bytes = b"") -> None:
        """Queue a ping (RFC 6455 §5.5.2); the peer's pong arrives as a ``Pong`` event.

        Raises:
            InvalidState: The connection is not open.
            UnsupportedOperation: The peer speaks a hixie draft, which has no pings.
            PayloadTooBig: ``payload`` is over 125 bytes.
        """
        self._out.append(self._sending_codec("send a ping").send_ping(payload))

    def pong(self, payload: bytes = b"") -> None:
        """Queue an unsolicited pong (RFC 6455 §5.5.3), e.g. as a unidirectional heartbeat.

        Pongs answering the peer's pings are queued automatically; don't send those.

        Raises:
            InvalidState: The connection is not open.
            UnsupportedOperation: The peer speaks a hixie draft, which has no pongs.
        """
        self._out.append(self._sending_codec("send a pong").send_pong(payload))

    def close(self, code: int | None = 1000, reason: str = "") -> None:
        """Start the closing handshake (RFC 6455 §7.1.2).

        ``code=None`` sends a close frame with no status code. The peer's answer
        arrives as a ``Close`` event. Calling it again, or once the connection is
        closed, does nothing. On the hixie drafts the code and reason are not
        sent (draft-76 sends ``FF 00``; draft-75 has no closing handshake, so the
        connection is closed at once).

        Before the handshake is done it aborts the connection: nothing is sent
        and the stream is to be closed (a server that wants to answer the
        request with an HTTP status uses :meth:`ServerConnection.reject`). In the
        middle of a streamed refusal's body it abandons the response: nothing
        more is sent and the stream is to be closed.

        Raises:
            InvalidCloseCode: ``code`` may not be sent on the wire (RFC 6455 §7.4).
            PayloadTooBig: The reason is over 123 bytes encoded.
        """
        if self._close_sent or self._state is _CLOSED:
            return
        codec = self._codec
        if codec is None:
            self._to(Trigger.ABANDONED)
            return
        self._send_close_frame(codec, code, reason)
        if not self._profile.closing_handshake:
            self._events.append(Close(1005, "", by_peer=False))
            self._to(Trigger.ABANDONED)
        else:
            self._to(Trigger.CLOSE_SENT)


class ServerConnection(Connection):
    """The server role: reads a handshake request, answers it, then exchanges messages.

    Flow: feed bytes until a :class:`~wsproto_core.events.Request` event arrives,
    then call :meth:`accept` or :meth:`reject` (or stream the refusal:
    :meth:`start_reject`, :meth:`send_reject_body`, :meth:`end_reject`). An
    invalid request is refused by the connection itself: the error response is queued and a
    :class:`~wsproto_core.events.HandshakeFailed` event says why.

    Args:
        max_message_size: Limit on a received message, in bytes (``None``: no limit).
            Settable as an attribute until :meth:`accept` (per-route limits).
        max_frame_size: Optional limit on a received frame's payload.
        subprotocols: The subprotocols this server speaks, in preference order;
            :meth:`accept` picks the first the client offered unless told otherwise.
        extensions: Extension factories to negotiate.
        stream_messages: Deliver messages in chunks as they arrive.
        allow_draft76: Accept draft-hixie-76 clients.
        allow_draft75: Accept draft-hixie-75 clients (off by default).
        accept_plain_http: Report plain (non-upgrade) HTTP requests as
            :class:`~wsproto_core.events.HTTPRequest` events instead of refusing them with 426.
        secure: The stream runs over TLS (for the hixie ``Location`` headers: ``wss://``).
        max_handshake_size: Limit on the request line and headers, in bytes (431 beyond).
    """

    __slots__ = ("_handshake", "_pending", "_pending_eof", "_request")

    def __init__(
        self,
        *,
        max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
        max_frame_size: int | None = None,
        subprotocols: Sequence[str] = (),
        extensions: Sequence[ServerExtensionFactory] = (),
        stream_messages: bool = False,
        allow_draft76: bool = True,
        allow_draft75: bool = False,
        accept_plain_http: bool = False,
        secure: bool = False,
        max_handshake_size: int = 16384,
    ) -> None:
        super().__init__(
            max_message_size=max_message_size,
            max_frame_size=max_frame_size,
            stream_messages=stream_messages,
        )
        self._handshake = ServerHandshake(
            subprotocols=subprotocols,
            extensions=extensions,
            allow_draft76=allow_draft76,
            allow_draft75=allow_draft75,
            accept_plain_http=accept_plain_http,
            secure=secure,
            max_size=max_handshake_size,
        )
        self._request: Request | HTTPRequest | None = None
        self._pending = bytearray()
        self._pending_eof = False

    @classmethod
    def from_request(
        cls,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]] | Sequence[tuple[bytes, bytes]],
        data: bytes = b"",
        *,
        max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
        max_frame_size: int | None = None,
        subprotocols: Sequence[str] = (),
        extensions: Sequence[ServerExtensionFactory] = (),
        stream_messages: bool = False,
        allow_draft76: bool = True,
        allow_draft75: bool = False,
        accept_plain_http: bool = False,
        secure: bool = False,
        max_handshake_size: int = 16384,
    ) -> ServerConnection:
        """Take over a connection whose HTTP request another server already parsed.

        The returned connection has validated the request: its events hold the
        :class:`~wsproto_core.events.Request` (or a ``HandshakeFailed`` with the
        refusal queued, exactly as if the bytes had been fed). ``data`` is
        whatever followed the request on the stream (a hixie-76 key3, frames
        the client pipelined); if a hixie-76 key3 is still incomplete, feed the
        rest with :meth:`receive_data`.

        Args:
            method: The request method.
            target: The request target (path and query).
            headers: The request headers, as ``str`` or ``bytes`` pairs.
            data: The bytes that followed the request head.
            max_message_size: As for the constructor.
            max_frame_size: As for the constructor.
            subprotocols: As for the constructor.
            extensions: As for the constructor.
            stream_messages: As for the constructor.
            allow_draft76: As for the constructor.
            allow_draft75: As for the constructor.
            accept_plain_http: As for the constructor.
            secure: As for the constructor.
            max_handshake_size: As for the constructor.
        """
        conn = cls(
            max_message_size=max_message_size,
            max_frame_size=max_frame_size,
            subprotocols=subprotocols,
            extensions=extensions,
            stream_messages=stream_messages,
            allow_draft76=allow_draft76,
            allow_draft75=allow_draft75,
            accept_plain_http=accept_plain_http,
            secure=secure,
            max_handshake_size=max_handshake_size,
        )
        try:
            result = conn._handshake.receive_request(method, target, headers, data)
        except HandshakeError as error:
            conn._refuse(error)
            return conn
        conn._handshake_result(result)
        return conn

    @property
    def request(self) -> Request | None:
        """The handshake request, once it arrived (``None`` for a plain HTTP request)."""
        request = self._request
        return request if isinstance(request, Request) else None

    def _receive_handshake(self, data: bytes) -> None:
        phase = self._phase
        if phase is not Phase.CONNECTING:
            if phase is Phase.REFUSING and not data:
                self._to(Trigger.EOF)  # the client went away during the refusal's body
            return  # refused or rejected: nothing more to read
        if self._request is not None:
            # Waiting for accept() or reject(): keep everything for after the decision.
            if data:
                self._pending += data
            else:
                self._pending_eof = True
            return
        try:
            result = self._handshake.receive_data(data)
        except HandshakeError as error:
            if data:
                self._refuse(error)
            else:
                # The client went away mid-handshake: nobody to answer.
                self._events.append(HandshakeFailed(error.reason, None))
                self._to(Trigger.EOF)
            return
        self._handshake_result(result)

    def _handshake_result(self, result: Request | HTTPRequest | None) -> None:
        if result is None:
            return
        self._request = result
        self._events.append(result)
        self._pending += self._handshake.trailing

    def _refuse(self, error: HandshakeError) -> None:
        self._out.append(self._handshake.refuse(error))
        self._events.append(HandshakeFailed(error.reason, error.status))
        self._to(Trigger.REFUSED)
        del self._handshake

    def _awaiting_decision(self, what: str) -> None:
        if self._phase is not Phase.CONNECTING or self._request is None:
            if self._phase is Phase.REFUSING:
                raise InvalidState(f"cannot {what}: a refusal is being sent", self._state)
            if self._state is _CONNECTING:
                raise InvalidState(f"cannot {what} before a request arrived", self._state)
            raise InvalidState(f"cannot {what} in state {self._state.value}", self._state)

    def accept(
        self, subprotocol: str | None = None, extra_headers: Sequence[tuple[str, str]] = ()
    ) -> None:
        """Accept the opening handshake, after a ``Request`` event (RFC 6455 §4.2.2).

        Frames the client sent before the decision are parsed now; their events
        follow, in the :meth:`events` loop that yielded the ``Request`` if it is
        still running.

        Args:
            subprotocol: The subprotocol to use; it must be one the client offered.
                ``None`` picks the first of the server's ``subprotocols`` the client
                offered, if any.
            extra_headers: More response headers.

        Raises:
            InvalidState: No request is waiting for a decision.
            HandshakeArgumentError: ``subprotocol`` was not offered by the client,
                or a header cannot be sent (a ``ValueError``).
        """
        self._awaiting_decision("accept")
        if not isinstance(self._request, Request):
            raise InvalidState(
                "a plain HTTP request cannot be accepted; answer it with reject()", self._state
            )
        handshake = self._handshake
        response, extensions, chosen = handshake.accept(subprotocol, extra_headers)
        self._out.append(response)
        assert handshake.version is not None
        self._start(handshake.version, chosen, extensions)
        # Once open, the handshake and its h11 state are dead weight (about 1 KiB a connection).
        del self._handshake
        pending, self._pending = bytes(self._pending), bytearray()
        if pending:
            self.receive_data(pending)
        if self._pending_eof:
            self.receive_data(b"")

    def reject(
        self, status: int = 403, headers: Sequence[tuple[str, str]] = (), body: bytes = b""
    ) -> None:
        """Refuse the handshake, or answer a plain HTTP request, with an HTTP response.

        The connection is then closed; :attr:`should_close_transport` is ``True``.

        Args:
            status: The HTTP status code.
            headers: Response headers (``Content-Length`` and ``Connection: close`` are added).
            body: The response body.

        Raises:
            InvalidState: No request is waiting for a decision.
        """
        self._awaiting_decision("reject")
        self._out.append(self._handshake.reject(status, headers, body))
        self._to(Trigger.REFUSED)
        del self._handshake

    def start_reject(self, status: int = 403, headers: Sequence[tuple[str, str]] = ()) -> None:
        """Begin refusing the handshake with an HTTP response whose body is streamed.

        The status line and headers are queued at once; send the body with
        :meth:`send_reject_body` (each piece is in :meth:`data_to_send` as soon
        as it is sent) and finish with :meth:`end_reject`, which closes the
        connection as :meth:`reject` does. Until then the stream stays open
        (:attr:`transport_action` is ``NONE``, :attr:`state` still
        ``CONNECTING``); the client's bytes are ignored, and its EOF closes the
        connection (``CLOSE``: nobody is left to read the body). :meth:`close`
        abandons the response: the stream is to be closed with the body cut short.

        The body is framed by ``headers``' ``Content-Length`` if there is one
        (exactly that many bytes must follow), else chunked (delimited by the
        end of the stream to an HTTP/1.0 client). ``Connection: close`` is added.

        Args:
            status: The HTTP status code.
            headers: Response headers (``Connection`` and ``Transfer-Encoding`` are ours).

        Raises:
            InvalidState: No request is waiting for a decision.
            HandshakeArgumentError: ``status`` is not a final status, or a header
                cannot be sent (a ``ValueError``).
        """
        self._awaiting_decision("reject")
        self._out.append(self._handshake.start_reject(status, headers))
        self._to(Trigger.REFUSING)

    def send_reject_body(self, data: bytes) -> None:
        """Queue the next piece of the body begun by :meth:`start_reject`.

        Raises:
            InvalidState: No streamed refusal is under way.
            HandshakeArgumentError: ``data`` goes beyond the announced
                ``Content-Length`` (nothing is queued).
        """
        self._out.append(self._refusing("send a refusal's body").send_reject_body(data))

    def end_reject(self) -> None:
        """End the body begun by :meth:`start_reject`; the connection is then closed.

        :attr:`should_close_transport` becomes ``True``, as after :meth:`reject`.

        Raises:
            InvalidState: No streamed refusal is under way.
            HandshakeArgumentError: Fewer bytes were sent than the announced
                ``Content-Length``; the refusal goes on (send the rest, or
                :meth:`close` to abandon it).
        """
        self._out.append(self._refusing("end a refusal").end_reject())
        self._to(Trigger.REFUSED)
        del self._handshake

    def _refusing(self, what: str) -> ServerHandshake:
        if self._phase is not Phase.REFUSING:
            raise InvalidState(
                f"cannot {what}: no streamed refusal is under way (start_reject())", self._state
            )
        return self._handshake


class ClientConnection(Connection):
    """The client role: the handshake request is queued at once in :meth:`data_to_send`.

    Flow: write the request, feed the response; an
    :class:`~wsproto_core.events.Accept` event opens the connection, a
    :class:`~wsproto_core.events.Reject` (another status) or ``HandshakeFailed``
    (an invalid response) ends it.

    Args:
        url: A ``ws://`` or ``wss://`` URL.
        subprotocols: Subprotocols to offer, in preference order.
        origin: The origin to send (``Origin``; ``Sec-WebSocket-Origin`` on versions 7 and 8).
        version: 13 (default), 8, 7, ``"hixie-76"`` or ``"hixie-75"``.
        extra_headers: More request headers.
        extensions: Extension factories to offer.
        max_message_size: Limit on a received message, in bytes (``None``: no limit).
        max_frame_size: Optional limit on a received frame's payload.
        stream_messages: Deliver messages in chunks as they arrive.
        max_handshake_size: Limit on the response head and a refusal's body, in bytes.

    Raises:
        InvalidURI: ``url`` is not a WebSocket URL.
        ValueError: ``version`` is not one we speak.
    """

    __slots__ = ("_handshake",)

    _client = True

    def __init__(
        self,
        url: str,
        *,
        subprotocols: Sequence[str] = (),
        origin: str | None = None,
        version: ProtocolVersion = 13,
        extra_headers: Sequence[tuple[str, str]] = (),
        extensions: Sequence[ClientExtensionFactory] = (),
        max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
        max_frame_size: int | None = None,
        stream_messages: bool = False,
        max_handshake_size: int = 16384,
    ) -> None:
        if version not in SUPPORTED_VERSIONS:
            raise ValueError(
                f"unsupported protocol version {version!r}; use one of {SUPPORTED_VERSIONS}"
            )
        super().__init__(
            max_message_size=max_message_size,
            max_frame_size=max_frame_size,
            stream_messages=stream_messages,
        )
        self._handshake = ClientHandshake(
            parse_uri(url),
            subprotocols=subprotocols,
            origin=origin,
            version=version,
            extra_headers=extra_headers,
            extensions=extensions,
            max_size=max_handshake_size,
        )
        self._out.append(self._handshake.request)

    def _receive_handshake(self, data: bytes) -> None:
        if self._state is not _CONNECTING:
            return
        handshake = self._handshake
        try:
            result = handshake.receive_data(data)
        except HandshakeError as error:
            self._events.append(HandshakeFailed(error.reason, error.status))
            self._to(Trigger.EOF if not data else Trigger.REFUSED)
            return
        if result is None:
            return
        self._events.append(result)
        del self._handshake  # its h11 state is dead weight from here on
        if isinstance(result, Reject):
            self._to(Trigger.REFUSED)
            return
        assert isinstance(result, Accept)
        self._start(handshake.version, handshake.subprotocol, handshake.extensions)
        if handshake.trailing:
            self.receive_data(handshake.trailing)
