"""What a conformance case is: a script for the peer, and what must follow.

A case is data. Its :attr:`Case.steps` say what the conformance peer does
(send frames, chopped or whole; a message through the negotiated extensions;
a ping to learn how far the testee has read; close; drop the connection); its
expectations say what the testee, an echo endpoint, must send back
(:attr:`Case.ok`) and how the connection must end (:attr:`Case.close`).
:mod:`.engine` plays a case in either role and gives the verdicts, in the
Autobahn Testsuite's terms (:data:`VERDICTS`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Union

if TYPE_CHECKING:
    from ..versions import ProtocolVersion
    from .wire import Frame

__all__ = [
    "NORMAL_CLOSE",
    "VERDICTS",
    "Case",
    "Deflate",
    "Drop",
    "ExpectedClose",
    "Received",
    "Role",
    "Send",
    "SendMessage",
    "SendRaw",
    "Step",
    "Sync",
    "Verdict",
    "WaitFor",
    "fails",
    "rank",
    "received_binary",
    "received_pong",
    "received_text",
]

Verdict = Literal["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED"]
"""A verdict, as the Autobahn Testsuite names them."""

VERDICTS: dict[Verdict, str] = {
    "OK": "the testee did what RFC 6455 requires",
    "NON-STRICT": "the testee works, but not as strictly as the RFC says it should "
    "(e.g. it fails invalid UTF-8 at the end of a message, not at once)",
    "INFORMATIONAL": "the RFC leaves the outcome open: what happened is recorded, not judged",
    "UNIMPLEMENTED": "the testee does not implement an optional feature the case needs "
    "(e.g. it declined permessage-deflate)",
    "FAILED": "the testee broke RFC 6455",
}
"""Every verdict and what it means, worst last."""

_RANK: dict[Verdict, int] = {
    "OK": 0,
    "INFORMATIONAL": 1,
    "UNIMPLEMENTED": 2,
    "NON-STRICT": 3,
    "FAILED": 4,
}


def rank(verdict: Verdict) -> int:
    """How bad a verdict is, for taking the worst of two (``OK`` is 0, ``FAILED`` 4)."""
    return _RANK[verdict]


Role = Literal["server", "client"]
"""The role of the testee; the conformance peer plays the other one."""


@dataclass(frozen=True)
class Received:
    """One thing the testee sent back: a whole message or a pong.

    Attributes:
        kind: ``"text"``, ``"binary"`` or ``"pong"``.
        data: The message's payload (UTF-8 for text) or the pong's.
    """

    kind: Literal["text", "binary", "pong"]
    data: bytes

    def describe(self, preview: int = 40) -> str:
        """``text (5 bytes) b'Hello'``, the payload cut to ``preview`` bytes."""
        shown = repr(self.data[:preview]) + ("..." if len(self.data) > preview else "")
        return f"{self.kind} ({len(self.data)} bytes) {shown}"


def received_text(data: str | bytes) -> Received:
    """The echo of a text message (``str`` as UTF-8)."""
    return Received("text", data.encode() if isinstance(data, str) else data)


def received_binary(data: bytes) -> Received:
    """The echo of a binary message."""
    return Received("binary", data)


def received_pong(data: bytes) -> Received:
    """A pong carrying ``data``."""
    return Received("pong", data)


@dataclass(frozen=True)
class Send:
    """Send frames (masked when the peer is the client).

    Attributes:
        frames: The frames, in order.
        chop: How the bytes are written: ``None`` in one write, ``0`` one write per
            frame, ``n`` writes of ``n`` bytes. Over a network the testee may still
            read them together; separate writes are what the peer can do.
        part: Send only the payload bytes ``[start:stop]`` of the one frame given
            (``stop`` ``None``: to its end), with the header when ``start`` is 0: a
            frame sent in parts over several steps, with waits between them.
    """

    frames: tuple[Frame, ...]
    chop: int | None = None
    part: tuple[int, int | None] | None = None

    def __post_init__(self) -> None:
        if self.part is not None and len(self.frames) != 1:
            raise ValueError("a part is cut from one frame")


@dataclass(frozen=True)
class SendRaw:
    """Send bytes as they are (a hixie frame, garbage, half a header)."""

    data: bytes


@dataclass(frozen=True)
class SendMessage:
    """Send a valid message through the negotiated extensions (compressed if deflate was agreed).

    Attributes:
        data: The payload (UTF-8 for text).
        binary: A binary message, else text.
        fragment_size: Cut it into frames of this many payload bytes (before
            compression), or ``None`` for one frame.
        count: Send it this many times.
    """

    data: bytes
    binary: bool = False
    fragment_size: int | None = None
    count: int = 1


@dataclass(frozen=True)
class Sync:
    """Send a ping and wait for its pong: the testee has read all that came before.

    The pong is not counted among :class:`Received`. If the testee closes
    instead, the script stops there.

    Attributes:
        late: The testee should have failed the connection on what was sent
            before: if it answers this ping instead and fails only later, the
            case is at best NON-STRICT (it did not fail fast).
        ping: Probe with a ping; ``False`` inside a frame sent in parts, where
            no ping can go: wait out the timeout instead (with ``late``, a testee
            still open then did not fail fast).
    """

    late: bool = False
    ping: bool = True


@dataclass(frozen=True)
class WaitFor:
    """Wait until the testee has sent back ``count`` messages and pongs in all (or closed)."""

    count: int


@dataclass(frozen=True)
class Drop:
    """Close the TCP connection without a closing handshake."""


Step = Union[Send, SendRaw, SendMessage, Sync, WaitFor, Drop]  # noqa: UP007 (a runtime alias)
"""One step of a case's script."""


@dataclass(frozen=True)
class ExpectedClose:
    """How the connection must end.

    Attributes:
        closed_by_me: The conformance peer starts the closing handshake (after the
            script it sends a close with code 1000), else the testee must.
        codes: The close codes the testee's close frame may carry; ``None``
            stands for a close frame without a code.
        require_clean: The closing handshake must complete: close frames both
            ways, then the server closes the TCP connection (RFC 6455 §7.1.1).
            When ``False`` (the testee fails the connection), a testee that
            drops the connection without a close frame is NON-STRICT: §7.1.7
            says it SHOULD send one.
    """

    closed_by_me: bool
    codes: tuple[int | None, ...]
    require_clean: bool = True


NORMAL_CLOSE = ExpectedClose(closed_by_me=True, codes=(1000,))
"""The peer closes with 1000 after the script, and the testee echoes 1000."""


def fails(*codes: int) -> ExpectedClose:
    """The testee must fail the connection with one of ``codes`` (RFC 6455 §7.1.7)."""
    return ExpectedClose(closed_by_me=False, codes=codes, require_clean=False)


@dataclass(frozen=True)
class Deflate:
    """A permessage-deflate agreement the case needs (RFC 7692 §7.1).

    The conformance peer offers (as a client) or accepts (as a server) these
    parameters; if the testee does not agree to permessage-deflate, the case is
    UNIMPLEMENTED: its script is not played, the peer closes at once.

    Attributes:
        server_no_context_takeover: The server resets its compressor per message.
        client_no_context_takeover: The client resets its compressor per message.
        server_max_window_bits: The server's window, 8 to 15, or ``None``.
        client_max_window_bits: The client's window, 8 to 15, or ``None``.
        fallback: Further agreements in order of preference: a client peer
            offers them after this one (RFC 7692 §5.1: the server accepts one
            offer or none) and takes the server's answer to any of them, so the
            last should ask the least; a server peer accepts by this one alone.
    """

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int | None = None
    client_max_window_bits: int | None = None
    fallback: tuple[Deflate, ...] = ()


@dataclass(frozen=True)
class Case:
    """One conformance case.

    Attributes:
        id: The Autobahn case number for its families (``"5.19"``), else the
            group and a number (``"handshake.3"``).
        description: What the peer does, for a report.
        expectation: What must follow, in words.
        steps: The peer's script.
        ok: What the testee must send back for OK; ``None``: any outcome is
            INFORMATIONAL (the close is still judged).
        non_strict: What it may send back instead, for NON-STRICT.
        close: How the connection must end.
        version: The protocol version the peer speaks.
        deflate: The permessage-deflate agreement the case needs, if any.
        roles: The testee roles the case applies to.
        request: For a testee server: raw request bytes to send instead of a
            valid handshake; the case then judges the HTTP status alone.
            ``{resource}`` and ``{host}`` in them stand for the testee URI's
            resource name and ``Host`` value (RFC 6455 §3), filled in by the peer.
        statuses: With ``request``: the HTTP statuses that are OK.
        optional: The case's version is optional: a testee server that refuses
            the handshake cleanly (HTTP 400 or 426, RFC 6455 §4.4) is
            UNIMPLEMENTED, not FAILED.
        timeout: Seconds to wait, at each point where the peer waits, before
            it gives up (``None``: the runner's default).
    """

    id: str
    description: str
    expectation: str
    steps: tuple[Step, ...] = ()
    ok: tuple[Received, ...] | None = ()
    non_strict: tuple[Received, ...] | None = None
    close: ExpectedClose = NORMAL_CLOSE
    version: ProtocolVersion = 13
    deflate: Deflate | None = None
    roles: frozenset[Role] = field(default=frozenset(("server", "client")))
    request: bytes | None = None
    statuses: tuple[int, ...] = ()
    optional: bool = False
    timeout: float | None = None

    @property
    def family(self) -> str:
        """The family: the id up to its first dot (``"5"``, ``"handshake"``)."""
        return self.id.split(".", 1)[0]

    def sort_key(self) -> tuple[tuple[int, int | str], ...]:
        """Order ids as Autobahn does: numeric parts as numbers (``5.2`` before ``5.10``)."""
        return tuple((0, int(p)) if p.isdigit() else (1, p) for p in self.id.split("."))
