"""Play one conformance case as the testee's peer, sans-IO, and judge it.

:class:`CaseRun` is the conformance peer of one connection: the client when
the testee is a server, the server when it is a client. A driver (the network
runners, or :mod:`.memory` for a connection in the same process) hands it the
testee's bytes and writes what it queues; the peer keeps no clock of its own
but the one it is given, and every wait it makes ends on an event (a pong, an
echo, a close, the end of the stream) or, failing that, at :attr:`CaseRun.deadline`.

The testee's bytes are read with the core's own handshake and codecs: a frame
the testee gets wrong fails the case with the core's reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..codec.hixie import HixieCodec
from ..codec.rfc6455 import Rfc6455Codec
from ..errors import HandshakeError, ProtocolError
from ..events import Accept, BytesMessage, Close, Ping, Pong, Reject, Request, TextMessage
from ..extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)
from ..handshake import ClientHandshake, ServerHandshake
from ..versions import profile
from .cases import (
    NORMAL_CLOSE,
    Case,
    Drop,
    Received,
    Role,
    Send,
    SendMessage,
    SendRaw,
    Sync,
    Verdict,
    WaitFor,
    rank,
)
from .wire import CLOSE, PING, PONG, Frame, encode, split_frames, starts_closing

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..codec import Codec
    from ..events import Event
    from ..extensions.base import Extension
    from ..handshake.uri import WebSocketURI
    from .cases import Step

__all__ = ["DEFAULT_TIMEOUT", "CaseResult", "CaseRun", "WireEntry"]

DEFAULT_TIMEOUT = 2.0
"""Seconds the peer waits, without news from the testee, before it gives up on a wait."""

_MAX_LOG = 200

_REFUSALS = (400, 426)
"""The statuses of a clean refusal of a version (RFC 6455 §4.2.1, §4.4), for optional cases."""


@dataclass(frozen=True)
class WireEntry:
    """One line of a case's wire log.

    Attributes:
        direction: ``"out"`` (peer to testee), ``"in"`` (testee to peer) or ``"note"``.
        at: Seconds since the case began.
        text: What crossed, in one line.
    """

    direction: Literal["in", "out", "note"]
    at: float
    text: str


@dataclass
class CaseResult:
    """The outcome of one case against one testee.

    Attributes:
        case: The case played.
        testee: The testee's role.
        behaviour: The verdict on what the testee sent back.
        behaviour_reason: Why, in a sentence.
        close_behaviour: The verdict on how the connection ended.
        close_reason: Why, in a sentence.
        received: The messages and pongs the testee sent back, in order.
        testee_close: The testee's close frame (code, or ``None`` without one, and
            reason), or ``None`` if it sent none.
        closed_by_me: Whether the peer started the closing handshake (``None``: nobody did).
        wire: The wire log, both ways.
        duration: Seconds the case took.
    """

    case: Case
    testee: Role
    behaviour: Verdict
    behaviour_reason: str
    close_behaviour: Verdict
    close_reason: str
    received: list[Received] = field(default_factory=list)
    testee_close: tuple[int | None, str] | None = None
    closed_by_me: bool | None = None
    wire: list[WireEntry] = field(default_factory=list)
    duration: float = 0.0

    @property
    def verdict(self) -> Verdict:
        """The worse of the two verdicts."""
        if rank(self.close_behaviour) > rank(self.behaviour):
            return self.close_behaviour
        return self.behaviour

    def to_json(self) -> dict[str, Any]:
        """The result as JSON-ready data (one report file per case)."""
        case = self.case
        return {
            "id": case.id,
            "family": case.family,
            "testee": self.testee,
            "description": case.description,
            "expectation": case.expectation,
            "verdict": self.verdict,
            "behaviour": self.behaviour,
            "behaviour_reason": self.behaviour_reason,
            "close_behaviour": self.close_behaviour,
            "close_reason": self.close_reason,
            "version": case.version,
            "expected": None if case.ok is None else [r.describe() for r in case.ok],
            "non_strict": (
                None if case.non_strict is None else [r.describe() for r in case.non_strict]
            ),
            "statuses": list(case.statuses) if case.request is not None else None,
            "expected_close": {
                "closed_by_me": case.close.closed_by_me,
                "codes": list(case.close.codes),
                "require_clean": case.close.require_clean,
            },
            "received": [r.describe() for r in self.received],
            "testee_close": None if self.testee_close is None else list(self.testee_close),
            "closed_by_me": self.closed_by_me,
            "duration": round(self.duration, 6),
            "wire": [[w.direction, round(w.at, 6), w.text] for w in self.wire],
        }


def _deflate_factory(case: Case, client: bool) -> list[Any]:
    """The permessage-deflate factory that offers (client) or accepts (server) the case's terms."""
    terms = case.deflate
    if terms is None:
        return []
    if client:
        # Offered in order; the handshake checks the answer with the last factory.
        return [
            ClientPerMessageDeflateFactory(
                server_no_context_takeover=offer.server_no_context_takeover,
                client_no_context_takeover=offer.client_no_context_takeover,
                server_max_window_bits=offer.server_max_window_bits,
                client_max_window_bits=offer.client_max_window_bits or True,
            )
            for offer in (terms, *terms.fallback)
        ]
    return [
        ServerPerMessageDeflateFactory(
            server_no_context_takeover=terms.server_no_context_takeover,
            client_no_context_takeover=terms.client_no_context_takeover,
            server_max_window_bits=terms.server_max_window_bits,
            client_max_window_bits=terms.client_max_window_bits,
        )
    ]


class CaseRun:
    """The conformance peer of one connection, playing one case.

    Args:
        case: The case.
        testee: The testee's role: ``"server"`` makes this peer the client.
        uri: Where the testee is (for the request's ``Host`` and path); the
            client peer needs it.
        clock: Seconds, monotonic; :attr:`deadline` is on this clock.
        timeout: Seconds to wait without news before giving up on a wait
            (the case's own ``timeout`` comes first).

    Drive it: :meth:`start`; then, until :attr:`done`, write :meth:`writes`,
    close the transport if :attr:`close_transport`, feed what arrives to
    :meth:`receive_data` (``b""`` at the end of the stream) and call
    :meth:`on_deadline` when the clock passes :attr:`deadline`; a driver with a
    bound of its own on the whole case calls :meth:`abort` when it runs out.
    """

    def __init__(
        self,
        case: Case,
        testee: Role,
        *,
        uri: WebSocketURI | None = None,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if testee not in case.roles:
            raise ValueError(f"case {case.id} does not apply to a testee {testee}")
        self.case = case
        self.testee: Role = testee
        self._client = testee == "server"
        self._clock = clock
        self._uri = uri
        self._timeout = case.timeout or timeout
        self._started = clock()
        self.deadline: float | None = None
        self.done = False
        self.close_transport = False
        self._writes: list[bytes] = []
        self._phase: Literal["handshake", "open", "closing"] = "handshake"
        self._client_hs: ClientHandshake | None = None
        self._server_hs: ServerHandshake | None = None
        if self._client and case.request is None:
            if uri is None:
                raise ValueError("the client peer needs the testee's URI")
            self._client_hs = ClientHandshake(
                uri, version=case.version, extensions=_deflate_factory(case, True)
            )
        elif not self._client:
            self._server_hs = ServerHandshake(
                extensions=_deflate_factory(case, False), allow_draft75=True
            )
        self._head = bytearray()
        self._codec: Codec | None = None
        self._step = 0
        self._waiting: tuple[str, object] | None = None
        self._closing_sent = False
        self._sync_serial = 0
        self._received: list[Received] = []
        self._testee_close: tuple[int | None, str] | None = None
        self._closed_by_me: bool | None = None
        self._testee_eof = False
        self._server_dropped = False
        self._late = False
        self._late_sync = False
        self._final_phase = False
        self._failure: str | None = None  # the testee broke the protocol or the handshake
        self._unimplemented: str | None = None
        self._declined = False  # permessage-deflate the case needs was not agreed
        self._status: int | None = None
        self._wire: list[WireEntry] = []
        self._wire_cut = 0
        self._out_frames = bytearray()
        self._in_frames = bytearray()

    # -- the driver's side -------------------------------------------------------

    def start(self) -> None:
        """Begin: the client peer queues its request; both wait for the testee."""
        if self._client_hs is not None:
            self._write(self._client_hs.request, head=True)
        elif self.case.request is not None:
            self._write(_fill_request(self.case.request, self._uri), head=True)
        self._arm()

    def writes(self) -> list[bytes]:
        """The bytes to write, each item one write, in order (taken: a second call is empty)."""
        writes, self._writes = self._writes, []
        return writes

    def receive_data(self, data: bytes) -> None:
        """Bytes from the testee; ``b""`` means its end of the stream (or a reset)."""
        if self.done:
            return
        if not data:
            self._eof()
            return
        self._arm()
        if self._phase == "handshake":
            self._receive_handshake(data)
        else:
            self._receive_frames(data)

    def on_deadline(self) -> None:
        """The clock passed :attr:`deadline`: give up the current wait."""
        if self.done:
            return
        waiting = self._waiting
        self._waiting = None
        what = waiting[0] if waiting else self._phase
        if what == "pause":
            self._end_pause()
            return
        self._note(f"gave up waiting ({what}) after {self._timeout:g} s")
        if self._phase == "handshake":
            self._finish_failure("no handshake answer in time")
        elif what in ("close-reply", "tcp-close"):
            if what == "tcp-close" and self._testee_close is not None:
                self._server_dropped = False
            self._end(drop=True)
        else:
            self._advance(gave_up=self._final_phase)

    def _end_pause(self) -> None:
        """A :class:`Sync` without a ping is over: the testee is still open."""
        self._note(f"waited {self._timeout:g} s: the testee is still open")
        if self._late_sync:
            self._late = True
            self._note("the testee did not fail the connection on the bad input")
        self._advance()

    def abort(self, reason: str) -> None:
        """Stop now, the case FAILED for ``reason``: the driver's own bound ran out."""
        if self.done:
            return
        self._note(reason)
        self._finish_failure(reason)

    def result(self) -> CaseResult:
        """The verdicts, once :attr:`done`."""
        behaviour, why = self._behaviour()
        close, close_why = self._close_behaviour()
        if self._wire_cut:
            self._note(f"the log stops here: {self._wire_cut} more reads and writes")
            self._wire_cut = 0
        return CaseResult(
            self.case,
            self.testee,
            behaviour,
            why,
            close,
            close_why,
            list(self._received),
            self._testee_close,
            self._closed_by_me,
            list(self._wire),
            self._clock() - self._started,
        )

    # -- the log -----------------------------------------------------------------

    def _at(self) -> float:
        return self._clock() - self._started

    def _note(self, text: str) -> None:
        self._wire.append(WireEntry("note", self._at(), text))

    def _log_frames(self, buffer: bytearray, direction: Literal["in", "out"], data: bytes) -> None:
        room = _MAX_LOG - len(self._wire)
        if room <= 0:
            if direction == "out" or not self._is_hixie():
                self._wire_cut += 1 if data else 0
            return
        if self._is_hixie():
            shown = repr(data[:120]) + ("..." if len(data) > 120 else "")
            self._wire.append(WireEntry(direction, self._at(), f"{len(data)} bytes {shown}"))
            return
        buffer += data
        for frame in split_frames(buffer, direction, self._at(), room):
            self._wire.append(WireEntry(direction, frame.at, frame.describe()))
        if len(self._wire) >= _MAX_LOG:
            buffer.clear()

    def _is_hixie(self) -> bool:
        return profile(self.case.version).hixie

    def _write(self, data: bytes, *, head: bool = False) -> None:
        if not data:
            return
        self._writes.append(data)
        if head:
            line = bytes(data).split(b"\r\n", 1)[0]
            self._wire.append(WireEntry("out", self._at(), line.decode("latin-1") + " ..."))
        else:
            self._log_frames(self._out_frames, "out", data)

    # -- the handshake -----------------------------------------------------------

    def _receive_handshake(self, data: bytes) -> None:
        try:
            if self.case.request is not None:
                self._receive_status(data)
            elif self._client_hs is not None:
                self._receive_response(self._client_hs, data)
            else:
                assert self._server_hs is not None
                self._receive_request(self._server_hs, data)
        except HandshakeError as exc:
            if self._server_hs is not None:
                self._write(self._server_hs.refuse(exc), head=True)
            self._finish_failure(f"invalid handshake: {exc}")

    def _receive_status(self, data: bytes) -> None:
        self._head += data
        end = self._head.find(b"\r\n")
        if end < 0:
            return
        line = bytes(self._head[:end])
        self._wire.append(WireEntry("in", self._at(), line.decode("latin-1")))
        parts = line.split(b" ", 2)
        self._status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else -1
        self._end(drop=True)

    def _receive_response(self, hs: ClientHandshake, data: bytes) -> None:
        event = hs.receive_data(data)
        if event is None:
            return
        if isinstance(event, Reject):
            self._wire.append(WireEntry("in", self._at(), f"HTTP {event.status} ..."))
            if self.case.optional and event.status in _REFUSALS:
                self._unimplemented = f"the testee refused version {self.case.version!r}"
                self._note(f"{self._unimplemented} with HTTP {event.status}")
                self._end(drop=True)
                return
            self._finish_failure(f"the testee refused the handshake with HTTP {event.status}")
            return
        assert isinstance(event, Accept)
        self._wire.append(WireEntry("in", self._at(), "HTTP 101 ..." + _ext(event.extensions)))
        self._open(hs.extensions, hs.trailing)

    def _receive_request(self, hs: ServerHandshake, data: bytes) -> None:
        event = hs.receive_data(data)
        if event is None:
            return
        if not isinstance(event, Request):
            self._write(hs.reject(404), head=True)
            self._finish_failure("the testee sent a plain HTTP request")
            return
        self._wire.append(
            WireEntry("in", self._at(), f"GET {event.target} (version {event.version}) ...")
        )
        if event.version != self.case.version:
            self._write(hs.reject(400), head=True)
            self._finish_failure(f"the testee spoke version {event.version}")
            return
        response, extensions, _ = hs.accept()
        self._write(response, head=True)
        self._open(extensions, hs.trailing)

    def _open(self, extensions: list[Extension], trailing: bytes) -> None:
        version = self.case.version
        if version in ("hixie-76", "hixie-75"):
            self._codec = HixieCodec(version=version, max_message_size=None)
        else:
            self._codec = Rfc6455Codec(
                client=self._client,
                version=int(version),
                max_message_size=None,
                extensions=extensions,
            )
        if self.case.deflate is not None and not extensions:
            # The script is not played (its compressed frames would mean nothing): the
            # peer closes at once, and the close is judged as a normal one.
            self._unimplemented = "the testee did not agree to permessage-deflate"
            self._note(self._unimplemented)
            self._declined = True
            self._step = len(self.case.steps)
        self._phase = "open"
        if trailing:
            self._receive_frames(trailing)
        if self._phase == "open" and not self.done:
            self._advance()

    def _finish_failure(self, reason: str) -> None:
        self._failure = self._failure or reason
        self._end(drop=True)

    # -- the data phase ----------------------------------------------------------

    def _receive_frames(self, data: bytes) -> None:
        codec = self._codec
        assert codec is not None
        self._log_frames(self._in_frames, "in", data)
        # The codec stops at its decode budget while events wait unhandled (see
        # Codec.pending): each batch is handled before the next is parsed.
        while True:
            events: list[Event] = []
            try:
                codec.receive(data, events)
            except ProtocolError as exc:
                self._on_events(events)
                self._testee_broke(exc)
                return
            if self._on_events(events):
                return
            if not codec.pending:
                break
            data = b""
        if self._waiting is not None and self._satisfied(self._waiting):
            self._waiting = None
            self._advance()

    def _on_events(self, events: list[Event]) -> bool:
        """Handle ``events`` in order; whether the case ended on one of them."""
        for event in events:
            if self.done:
                return True
            self._on_event(event)
        return self.done

    def _testee_broke(self, exc: ProtocolError) -> None:
        self._failure = self._failure or f"the testee broke the protocol: {exc.reason}"
        self._note(self._failure)
        if not self._closing_sent and self._testee_close is None:
            self._send_close(exc.close_code, exc.reason[:60].encode())
        self._end(drop=True)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, TextMessage):
            self._received.append(Received("text", event.data.encode()))
        elif isinstance(event, BytesMessage):
            self._received.append(Received("binary", bytes(event.data)))
        elif isinstance(event, Pong):
            self._on_pong(bytes(event.payload))
        elif isinstance(event, Ping):
            if self._testee_close is None and not self._closing_sent:
                self._write(encode(Frame(PONG, bytes(event.payload)), client=self._client))
        elif isinstance(event, Close):
            self._on_close(event)

    def _on_pong(self, payload: bytes) -> None:
        waiting = self._waiting
        if waiting is not None and waiting[0] == "sync" and waiting[1] == payload:
            if self._late_sync:
                self._late = True
                self._note("the testee answered the ping sent after the bad input")
            self._waiting = None
            self._advance()
            return
        self._received.append(Received("pong", payload))

    def _on_close(self, event: Close) -> None:
        code = None if event.code in (None, 1005) else event.code
        self._testee_close = (code, event.reason)
        if not self._closing_sent:
            self._closed_by_me = False
            self._send_close(code, event.reason.encode())
        self._phase = "closing"
        self._waiting = None
        if self._client:
            # RFC 6455 §7.1.1: the server closes the TCP connection first.
            self._waiting = ("tcp-close", None)
            self._arm()
        else:
            self._end(drop=True)

    def _send_close(self, code: int | None, reason: bytes) -> None:
        self._closing_sent = True
        if self._closed_by_me is None:
            self._closed_by_me = True
        if self._is_hixie():
            assert self._codec is not None
            self._write(self._codec.send_close(code, ""))
            return
        payload = b"" if code is None else code.to_bytes(2, "big") + reason
        self._write(encode(Frame(CLOSE, payload), client=self._client))

    def _eof(self) -> None:
        self._testee_eof = True
        if self._phase == "handshake" and self.case.optional and self._failure is None:
            # A version the testee does not speak, turned away without an answer: not the
            # 400 or 426 RFC 6455 §4.2.1 and §4.4 ask for, but not a broken protocol either.
            self._unimplemented = (
                f"the testee closed the connection without answering a version "
                f"{self.case.version!r} handshake"
            )
        elif self._phase == "handshake" and self.case.request is None:
            self._failure = self._failure or "the testee closed the connection during the handshake"
        if self._testee_close is not None and self._client:
            self._server_dropped = True
        self._note("the testee closed the TCP connection")
        self._end(drop=False)

    def _end(self, *, drop: bool) -> None:
        self.done = True
        self.deadline = None
        self._waiting = None
        self.close_transport = self.close_transport or drop

    def _arm(self) -> None:
        self.deadline = self._clock() + self._timeout

    # -- the script --------------------------------------------------------------

    def _satisfied(self, waiting: tuple[str, object]) -> bool:
        kind, value = waiting
        if kind == "count":
            assert isinstance(value, int)
            return len(self._received) >= value
        return False

    def _advance(self, *, gave_up: bool = False) -> None:
        """Run steps until one waits; after the last, wait for the outcome and close."""
        steps = self.case.steps
        while not self.done and self._phase == "open" and self._waiting is None:
            if self._step < len(steps):
                step = steps[self._step]
                self._step += 1
                self._run(step)
                continue
            self._final_phase = True
            self._finish_script(gave_up)
            return

    def _finish_script(self, gave_up: bool) -> None:
        expected = NORMAL_CLOSE if self._declined else self.case.close
        if self._closing_sent:
            self._waiting = ("close-reply", None)
            self._arm()
            return
        want = 0 if self._declined else len(self.case.ok or ())
        if expected.closed_by_me and len(self._received) < want and not gave_up:
            self._waiting = ("count", want)
            self._arm()
            return
        if not expected.closed_by_me and not gave_up:
            # The testee must fail the connection: wait for its close.
            self._waiting = ("final", None)
            self._arm()
            return
        if self._is_hixie() and not profile(self.case.version).closing_handshake:
            self._closed_by_me = True
            self._end(drop=True)
            return
        self._send_close(1000, b"")
        self._waiting = ("close-reply", None)
        self._arm()

    def _run(self, step: Step) -> None:
        if isinstance(step, Send):
            self._send_frames(step)
        elif isinstance(step, SendRaw):
            self._write(step.data)
        elif isinstance(step, SendMessage):
            self._send_message(step)
        elif isinstance(step, Sync):
            self._sync_serial += 1
            payload = f"wsproto_core-sync-{self._sync_serial}".encode()
            self._late_sync = step.late
            if not step.ping:
                self._waiting = ("pause", None)
                self._arm()
                return
            if self._is_hixie():
                return
            self._write(encode(Frame(PING, payload), client=self._client))
            self._waiting = ("sync", payload)
            self._arm()
        elif isinstance(step, WaitFor):
            if len(self._received) < step.count:
                self._waiting = ("count", step.count)
                self._arm()
        elif isinstance(step, Drop):
            self._note("the peer drops the TCP connection")
            self._end(drop=True)

    def _send_frames(self, step: Send) -> None:
        parts = [encode(frame, client=self._client) for frame in step.frames]
        if step.part is not None:
            parts = [_payload_part(step.frames[0], parts[0], *step.part)]
            start, stop = step.part
            self._note(f"out payload[{start}:{'' if stop is None else stop}] of the next frame")
        if any(starts_closing(frame) for frame in step.frames):
            self._closing_sent = True
            if self._closed_by_me is None:
                self._closed_by_me = True
        if step.chop is None:
            self._write(b"".join(parts))
        elif step.chop == 0:
            for part in parts:
                self._write(part)
        else:
            stream = b"".join(parts)
            for i in range(0, len(stream), step.chop):
                self._write(stream[i : i + step.chop])

    def _send_message(self, step: SendMessage) -> None:
        codec = self._codec
        assert codec is not None
        size = step.fragment_size or max(len(step.data), 1)
        for _ in range(step.count):
            if step.binary:
                data = step.data
                pieces: list[Any] = [data[i : i + size] for i in range(0, len(data), size)]
            else:
                chars = step.data.decode()
                pieces = [chars[i : i + size] for i in range(0, len(chars), size)]
            pieces = pieces or [b"" if step.binary else ""]
            for n, piece in enumerate(pieces):
                final = n == len(pieces) - 1
                if step.binary:
                    self._write(codec.send_binary(piece, final))
                else:
                    self._write(codec.send_text(piece, final))

    # -- the verdicts ------------------------------------------------------------

    def _behaviour(self) -> tuple[Verdict, str]:
        case = self.case
        if case.request is not None:
            if self._status in case.statuses:
                return "OK", f"the testee answered HTTP {self._status}"
            got = "no HTTP response" if self._status is None else f"HTTP {self._status}"
            return "FAILED", f"expected HTTP {_or(case.statuses)}, got {got}"
        if self._failure is not None:
            return "FAILED", self._failure
        if self._unimplemented is not None:
            return "UNIMPLEMENTED", self._unimplemented
        received = tuple(self._received)
        if case.ok is None:
            return "INFORMATIONAL", f"received {_things(len(received))}"
        if received == case.ok:
            if self._late:
                return "NON-STRICT", (
                    "the testee went on reading after the bad input (it answered the ping "
                    "sent after it, or stayed open) and failed the connection only later"
                )
            return "OK", f"received {_things(len(received))}, as expected"
        if case.non_strict is not None and received == case.non_strict:
            return "NON-STRICT", (f"received {_things(len(received))}: the NON-STRICT outcome")
        return "FAILED", _difference(case.ok, received)

    def _close_behaviour(self) -> tuple[Verdict, str]:
        case = self.case
        expected = NORMAL_CLOSE if self._declined else case.close
        if case.request is not None or self._phase == "handshake":
            return "OK", "no WebSocket connection to close"
        if self._closed_by_me and not profile(case.version).closing_handshake:
            return "OK", "draft-hixie-75 has no closing handshake: the peer closed the connection"
        if self._closed_by_me is None:
            if self._testee_eof and not expected.closed_by_me and not expected.require_clean:
                return "NON-STRICT", (
                    "the testee dropped the connection without a close frame "
                    "(RFC 6455 §7.1.7: it SHOULD send one)"
                )
            return "FAILED", "the connection ended without a closing handshake"
        if expected.closed_by_me and not self._closed_by_me:
            code = self._testee_close[0] if self._testee_close else None
            return "FAILED", f"the testee closed the connection (code {code}); it should not have"
        if not expected.closed_by_me and self._closed_by_me:
            return "FAILED", "the testee did not fail the connection: the peer had to close it"
        if self._testee_close is None:
            if self._testee_eof and not expected.require_clean:
                return "NON-STRICT", (
                    "the testee dropped the connection without answering the close frame "
                    "(RFC 6455 §7.1.7: it SHOULD send one)"
                )
            return "FAILED", "the testee did not answer the close frame"
        code = self._testee_close[0]
        if code not in expected.codes:
            return "FAILED", f"close code {code}, expected {_or(expected.codes)}"
        if expected.require_clean and self._client and not self._server_dropped:
            return "NON-STRICT", (
                "the server did not close the TCP connection after the closing handshake "
                "(RFC 6455 §7.1.1)"
            )
        return "OK", f"closed with code {code}" + (" cleanly" if expected.require_clean else "")


def _fill_request(request: bytes, uri: WebSocketURI | None) -> bytes:
    """A raw request with ``{resource}`` and ``{host}`` replaced from the testee's URI."""
    resource, host = (uri.resource_name, uri.netloc) if uri else ("/", "localhost")
    request = request.replace(b"{resource}", resource.encode("latin-1"))
    return request.replace(b"{host}", host.encode("latin-1"))


def _payload_part(frame: Frame, encoded: bytes, start: int, stop: int | None) -> bytes:
    """The bytes of ``encoded`` (``frame`` as sent) that carry payload ``[start:stop]``.

    The header comes with the part that starts at 0; a masked payload keeps
    its mask, the bytes being cut from the frame as a whole.
    """
    header = len(encoded) - len(frame.payload)
    end = len(encoded) if stop is None else header + stop
    return encoded[0 if start == 0 else header + start : end]


def _things(count: int) -> str:
    """``3 messages and pongs``, ``1 message or pong``, ``nothing``."""
    if count == 0:
        return "nothing"
    return "1 message or pong" if count == 1 else f"{count} messages and pongs"


def _or(items: tuple[object, ...]) -> str:
    return " or ".join(str(item) for item in items)


def _ext(extensions: tuple[str, ...]) -> str:
    return f" extensions {', '.join(extensions)}" if extensions else ""


def _difference(expected: tuple[Received, ...], got: tuple[Received, ...]) -> str:
    """The first place where what came back differs from what should have."""
    for n, (want, have) in enumerate(zip(expected, got, strict=False)):
        if want != have:
            return f"#{n + 1}: expected {want.describe()}, got {have.describe()}"
    if len(got) < len(expected):
        return f"expected {_things(len(expected))}, got {len(got)}: " + (
            f"#{len(got) + 1} ({expected[len(got)].describe()}) never came"
        )
    return f"expected {_things(len(expected))}, got {len(got)}: " + (
        f"#{len(expected) + 1} was {got[len(expected)].describe()}"
    )
