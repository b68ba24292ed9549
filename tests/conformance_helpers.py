"""Hand-built frames and in-memory drivers for the conformance cases.

The frames a peer sends are built here byte by byte, and the bytes a connection
queues are parsed here, without :mod:`wsproto_core.frames`: an audit that used
the code under test to build its inputs and read its outputs could not catch
that code's bugs. UTF-8 is judged here by the table of RFC 3629 §4, not by
Python's decoder, which the core itself relies on.

A :class:`Case` (a :class:`Staged` one: checked after every read) drives a
connection of each role with such frames and asserts the strict outcome, what
only shows in memory: the events in order, every frame queued, the state and
``should_close_transport`` (what the wire shows is judged by the conformance
kit's catalogue, ``test_conformance_kit``).
"""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Union

import pytest
from pairs import open_pair

from wsproto_core import ClientConnection, ConnectionState, ServerConnection
from wsproto_core.events import BytesMessage, Close, Event, TextMessage

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from _pytest.mark.structures import ParameterSet
    from deflate_cases import Negotiation

    from wsproto_core.versions import ProtocolVersion

Role = Literal["server", "client"]
"""The role of the connection under test; the peer plays the other one."""

ROLES: tuple[Role, ...] = ("server", "client")

CONTINUATION = 0x0
TEXT = 0x1
BINARY = 0x2
CLOSE = 0x8
PING = 0x9
PONG = 0xA

PEER_MASK_KEY = b"\x9b\x3d\x5a\xe1"
"""The masking key of every frame a client peer sends (RFC 6455 §5.3)."""


@dataclass(frozen=True)
class Frame:
    """One frame, as a peer sends it or as a connection queued it (RFC 6455 §5.2).

    Attributes:
        opcode: The opcode, 0 to 15 (reserved ones included).
        payload: The unmasked payload.
        fin: The FIN bit.
        rsv: The reserved bits numbered as Autobahn does: 4 is RSV1, 2 RSV2, 1 RSV3.
        length: The payload length to announce, when it is not ``len(payload)``.
        length_form: 7, 16 or 64: the length encoding, when it is not the minimal one.
        wrong_mask: Mask the other way round from what the sender's role requires.
    """

    opcode: int
    payload: bytes = b""
    fin: bool = True
    rsv: int = 0
    length: int | None = None
    length_form: int | None = None
    wrong_mask: bool = False


def text(data: str | bytes, *, fin: bool = True, rsv: int = 0) -> Frame:
    """A text frame (``str`` is encoded as UTF-8, ``bytes`` are sent as they are)."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    return Frame(TEXT, payload, fin, rsv)


def binary(data: bytes, *, fin: bool = True, rsv: int = 0) -> Frame:
    """A binary frame."""
    return Frame(BINARY, data, fin, rsv)


def cont(data: str | bytes, *, fin: bool = True) -> Frame:
    """A continuation frame."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    return Frame(CONTINUATION, payload, fin)


def ping(payload: bytes = b"", *, fin: bool = True, rsv: int = 0) -> Frame:
    """A ping frame."""
    return Frame(PING, payload, fin, rsv)


def pong(payload: bytes = b"", *, fin: bool = True) -> Frame:
    """A pong frame."""
    return Frame(PONG, payload, fin)


def close(code: int | None = None, reason: bytes = b"", *, fin: bool = True, rsv: int = 0) -> Frame:
    """A close frame: a 2-byte code (if any) and the reason's bytes."""
    payload = b"" if code is None else code.to_bytes(2, "big") + reason
    return Frame(CLOSE, payload, fin, rsv)


def xor(data: bytes, key: bytes, offset: int = 0) -> bytes:
    """Mask or unmask ``data`` with the 4-byte ``key``, from key byte ``offset % 4``."""
    if not data:
        return b""
    rotated = key[offset % 4 :] + key[: offset % 4]
    stream = (rotated * (len(data) // 4 + 1))[: len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(len(data), "big")


def encode(frame: Frame, *, masked: bool) -> bytes:
    """The frame's bytes on the wire, masked with :data:`PEER_MASK_KEY` if ``masked``.

    ``masked`` is what the sender's role requires; a frame with ``wrong_mask`` does the opposite.
    """
    masked = masked != frame.wrong_mask
    first = (0x80 if frame.fin else 0) | (frame.rsv & 7) << 4 | frame.opcode
    length = len(frame.payload) if frame.length is None else frame.length
    form = frame.length_form
    if form is None:
        form = 7 if length < 126 else 16 if length < 0x10000 else 64
    mask_bit = 0x80 if masked else 0
    if form == 7:
        header = struct.pack("!BB", first, mask_bit | length)
    elif form == 16:
        header = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, length)
    if not masked:
        return header + frame.payload
    return header + PEER_MASK_KEY + xor(frame.payload, PEER_MASK_KEY)


def peer_masks(role: Role) -> bool:
    """Whether the peer of a connection in ``role`` masks its frames: a client peer does."""
    return role == "server"


def peer_frames(role: Role, frames: Sequence[Frame]) -> list[bytes]:
    """The bytes of each frame the peer of a ``role`` connection sends."""
    masked = peer_masks(role)
    return [encode(frame, masked=masked) for frame in frames]


Chop = Union[Literal["one", "frame", "octet"], int]  # noqa: UP007 (a runtime alias)
"""How the peer's bytes arrive: in one read, one read per frame, one byte per read, or
reads of that many bytes."""


def chop(parts: Sequence[bytes], how: Chop) -> list[bytes]:
    """Cut the encoded frames ``parts`` into the reads described by ``how``."""
    if how == "frame":
        return [part for part in parts if part]
    stream = b"".join(parts)
    if how == "one":
        return [stream]
    size = 1 if how == "octet" else how
    assert isinstance(size, int) and size > 0
    return [stream[i : i + size] for i in range(0, len(stream), size)]


def cut_before_payload_bytes(
    role: Role, frames: Sequence[Frame], cuts: Sequence[int]
) -> list[bytes]:
    """Cut the peer's stream into reads that each end just before a given payload byte.

    A cut at ``n`` ends a read right before the payload byte numbered ``n`` of
    the frames' payloads taken together, so headers go with the read that
    ends before their payload: a cut at 0 isolates the first frame's header.
    """
    stream = b""
    starts: list[int] = []  # where each payload byte is in the stream
    masked = peer_masks(role)
    for frame in frames:
        encoded = encode(frame, masked=masked)
        payload_start = len(stream) + len(encoded) - len(frame.payload)
        starts.extend(range(payload_start, payload_start + len(frame.payload)))
        stream += encoded
    positions = [0, *(starts[n] for n in cuts), len(stream)]
    reads = [stream[a:b] for a, b in itertools.pairwise(positions)]
    assert all(reads), "a cut that makes an empty read would mean EOF"
    return reads


def open_role(
    role: Role, version: ProtocolVersion = 13, **options: object
) -> ServerConnection | ClientConnection:
    """An open connection in ``role`` (handshake done, nothing queued, no events)."""
    client, server = open_pair(
        version,
        server_options=dict(options) if role == "server" else None,
        client_options=dict(options) if role == "client" else None,
    )
    conn = server if role == "server" else client
    assert conn.data_to_send() == b""
    assert list(conn.events()) == []
    assert conn.state is ConnectionState.OPEN
    return conn


def expect(what: str, got: object, expected: object) -> None:
    """Fail the case with a plain report (no traceback to render) unless ``got == expected``."""
    if got != expected:
        pytest.fail(f"{what}\n  expected: {expected!r}\n  got:      {got!r}", pytrace=False)


def feed(
    conn: ServerConnection | ClientConnection, reads: Sequence[bytes], *, echo: bool = False
) -> list[Event]:
    """Feed each read to ``conn``; return the events, in order.

    With ``echo``, an application echoes every message as Autobahn's peers do, while
    the events loop is on it: the echo must go out before anything the connection
    owes for the bytes after the message (its "strict" verdict).
    """
    events: list[Event] = []
    for data in reads:
        assert data, "an empty read means EOF"
        conn.receive_data(data)
        for event in conn.events():
            events.append(event)
            if echo and isinstance(event, TextMessage):
                conn.send_text(event.data)
            elif echo and isinstance(event, BytesMessage):
                conn.send_binary(event.data)
    return events


def parse_sent(role: Role, data: bytes) -> list[Frame]:
    """Parse what a ``role`` connection queued, checking the framing rules it must keep.

    A client masks every frame, a server none (RFC 6455 §5.3); lengths take the
    minimal form (§5.2); control frames are whole and at most 125 bytes (§5.5).
    """
    frames: list[Frame] = []
    pos = 0
    while pos < len(data):
        assert len(data) - pos >= 2, f"a truncated frame header in {data!r}"
        first, second = data[pos], data[pos + 1]
        pos += 2
        assert bool(second & 0x80) == (role == "client"), f"wrong masking in {data!r}"
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack_from("!H", data, pos)
            pos += 2
            assert length >= 126, "non-minimal 16-bit length"
        elif length == 127:
            (length,) = struct.unpack_from("!Q", data, pos)
            pos += 8
            assert 0x10000 <= length < 2**63, "non-minimal or oversized 64-bit length"
        key = None
        if second & 0x80:
            key = data[pos : pos + 4]
            pos += 4
        payload = data[pos : pos + length]
        assert len(payload) == length, f"a truncated frame in {data!r}"
        pos += length
        if key is not None:
            payload = xor(payload, key)
        opcode = first & 0x0F
        fin = bool(first & 0x80)
        if opcode & 0x8:
            assert fin and length <= 125, "a fragmented or oversized control frame"
        frames.append(Frame(opcode, payload, fin, (first >> 4) & 7))
    return frames


SIZE_FAILURES = (1009, 1004)
"""Failure codes of the size limits: after them the connection awaits the peer's close."""


@dataclass(frozen=True)
class Fail:
    """Expected: the connection fails the peer with ``code`` (RFC 6455 §7.1.7).

    As an event: ``Close(code, reason, by_peer=False)``, whatever the reason
    says. As a frame sent: the close frame carrying ``code`` and that same reason.
    """

    code: int


Expected = Union[Event, Fail]  # noqa: UP007 (a runtime alias)
ExpectedFrame = Union[Frame, Fail]  # noqa: UP007 (a runtime alias)


def failure_reason(events: Sequence[Event]) -> str:
    """The reason of the connection's own failure close among ``events``, or ``""``."""
    for event in events:
        if isinstance(event, Close) and not event.by_peer:
            return event.reason
    return ""


def resolve_events(expected: Sequence[Expected], reason: str) -> list[Event]:
    """``expected`` with each :class:`Fail` made the ``Close`` event it stands for."""
    return [Close(e.code, reason, by_peer=False) if isinstance(e, Fail) else e for e in expected]


def resolve_frames(expected: Sequence[ExpectedFrame], reason: str) -> list[Frame]:
    """``expected`` with each :class:`Fail` made the close frame it stands for."""
    return [close(e.code, reason.encode("utf-8")) if isinstance(e, Fail) else e for e in expected]


def check_outcome(
    role: Role,
    conn: ServerConnection | ClientConnection,
    events: Sequence[Event],
    expected_events: Sequence[Expected],
    expected_sent: Sequence[ExpectedFrame],
    *,
    state: ConnectionState | None = None,
    should_close: bool | None = None,
) -> None:
    """Assert the whole outcome: events in order, frames queued, state, transport.

    Unless given, the state and ``should_close_transport`` follow from the last
    expected event: after a failure, CLOSED and close the stream (RFC 6455
    §7.1.7); after the peer's close, CLOSED, and the server closes the stream
    first while the client waits for it to (§7.1.1); otherwise still OPEN.
    """
    reason = failure_reason(events)
    expect("failure reason fits a close frame", len(reason.encode("utf-8")) <= 123, True)
    expect("events", list(events), resolve_events(expected_events, reason))
    sent = parse_sent(role, conn.data_to_send())
    expect("frames queued", sent, resolve_frames(expected_sent, reason))
    check_end(role, conn, expected_events, state=state, should_close=should_close)


def check_end(
    role: Role,
    conn: ServerConnection | ClientConnection,
    expected_events: Sequence[Expected],
    *,
    state: ConnectionState | None = None,
    should_close: bool | None = None,
) -> None:
    """Assert the state and ``should_close_transport`` after ``expected_events``.

    Unless given, they follow from the last expected event: see :func:`check_outcome`.
    """
    last = expected_events[-1] if expected_events else None
    ended = isinstance(last, (Fail, Close))
    # A size limit is seen in a frame header, so the framing stays in step: the
    # connection sends its 1009 (1004) and waits for the peer's close (CLOSING).
    # Unless the frame over the limit is too big to skip (state CLOSED given): then the
    # framing is given up and the stream is closed at once.
    awaits_close = (
        isinstance(last, Fail)
        and last.code in SIZE_FAILURES
        and state in (None, ConnectionState.CLOSING)
    )
    if state is None:
        if awaits_close:
            state = ConnectionState.CLOSING
        else:
            state = ConnectionState.CLOSED if ended else ConnectionState.OPEN
    if should_close is None:
        should_close = (isinstance(last, Fail) and not awaits_close) or (
            isinstance(last, Close) and role == "server"
        )
    expect("state", conn.state, state)
    expect("should_close_transport", conn.should_close_transport, should_close)


def utf8_error_index(data: bytes) -> int | None:
    """Where ``data`` stops being UTF-8, by the table of RFC 3629 §4.

    Returns:
        ``None`` if ``data`` is valid UTF-8; the index of the first byte that no
        valid text can have at its place; or ``len(data)`` if every byte is
        valid so far but the text ends inside a character.
    """
    i = 0
    size = len(data)
    while i < size:
        lead = data[i]
        if lead < 0x80:
            i += 1
            continue
        if 0xC2 <= lead <= 0xDF:
            count, low, high = 1, 0x80, 0xBF
        elif lead == 0xE0:
            count, low, high = 2, 0xA0, 0xBF  # below A0: overlong
        elif lead == 0xED:
            count, low, high = 2, 0x80, 0x9F  # from A0: a UTF-16 surrogate
        elif 0xE1 <= lead <= 0xEF:
            count, low, high = 2, 0x80, 0xBF
        elif lead == 0xF0:
            count, low, high = 3, 0x90, 0xBF  # below 90: overlong
        elif lead == 0xF4:
            count, low, high = 3, 0x80, 0x8F  # from 90: above U+10FFFF
        elif 0xF1 <= lead <= 0xF3:
            count, low, high = 3, 0x80, 0xBF
        else:
            return i  # 80-C1 and F5-FF never start a character
        for k in range(1, count + 1):
            if i + k == size:
                return size
            byte = data[i + k]
            if not (low <= byte <= high if k == 1 else 0x80 <= byte <= 0xBF):
                return i + k
        i += count + 1
    return None


# -- cases: what the peer sends, and everything that must follow ---------------------------------


@dataclass(frozen=True)
class Case:
    """One case: what the peer sends and everything that must follow, in memory.

    Attributes:
        id: The Autobahn case number, or the family and what the case adds.
        frames: The frames the peer sends.
        events: The events expected, in order (:class:`Fail` for the connection's own failure).
        sent: The frames the connection must have queued, in order.
        chop: How the peer's bytes arrive.
        version: The protocol version spoken.
        max_message_size: The limit given to the connection under test.
        close_first: A close (code, reason) the connection under test starts
            before the peer's frames arrive; its frame is checked and drained.
        state: The state expected at the end, when it does not follow from the
            last event (see ``check_outcome``).
        echo: The application echoes every message while the events loop is on it
            (see ``feed``); ``sent`` then holds the echoes too.
        deflate: The handshake negotiates permessage-deflate with this offer and answer
            (see ``deflate_cases.open_deflate``); ``None``: no extension offered.
    """

    id: str
    frames: tuple[Frame, ...]
    events: tuple[Expected, ...]
    sent: tuple[ExpectedFrame, ...] = ()
    chop: Chop = "one"
    version: ProtocolVersion = 13
    max_message_size: int | None = 32 * 2**20
    close_first: tuple[int, str] | None = None
    state: ConnectionState | None = None
    echo: bool = False
    deflate: Negotiation | None = None


def case(
    id: str,
    frames: Sequence[Frame],
    events: Sequence[Expected],
    sent: Sequence[ExpectedFrame] = (),
    *,
    chop: Chop = "one",
    version: ProtocolVersion = 13,
    max_message_size: int | None = 32 * 2**20,
    close_first: tuple[int, str] | None = None,
    state: ConnectionState | None = None,
    echo: bool = False,
    deflate: Negotiation | None = None,
) -> Case:
    """Build a :class:`Case` from lists."""
    return Case(
        id,
        tuple(frames),
        tuple(events),
        tuple(sent),
        chop,
        version,
        max_message_size,
        close_first,
        state,
        echo,
        deflate,
    )


def failed(code: int, *before: Expected) -> tuple[tuple[Expected, ...], tuple[ExpectedFrame]]:
    """The events and frames sent of a case that fails with ``code`` after the events ``before``."""
    return (*before, Fail(code)), (Fail(code),)


def params(items: Iterable[tuple[str, object]]) -> list[ParameterSet]:
    """One ``pytest.param`` per item and role, id ``<id>-<role>``."""
    return [pytest.param(item, role, id=f"{id}-{role}") for id, item in items for role in ROLES]


def case_params(cases: Iterable[Case]) -> list[ParameterSet]:
    """The parameters of a family of :class:`Case`."""
    return params((c.id, c) for c in cases)


def _open(
    role: Role, version: ProtocolVersion, max_message_size: int | None, deflate: Negotiation | None
) -> ServerConnection | ClientConnection:
    if deflate is not None:
        from deflate_cases import open_deflate  # it builds on this module's frames

        return open_deflate(role, deflate, max_message_size)[0]
    return open_role(role, version, max_message_size=max_message_size)


def run_case(item: Case, role: Role) -> None:
    """Drive a connection in ``role`` through ``item`` and assert its whole outcome."""
    conn = _open(role, item.version, item.max_message_size, item.deflate)
    if item.close_first is not None:
        code, reason = item.close_first
        conn.close(code, reason)
        assert parse_sent(role, conn.data_to_send()) == [close(code, reason.encode())]
        assert conn.state is ConnectionState.CLOSING
    events = feed(conn, chop(peer_frames(role, item.frames), item.chop), echo=item.echo)
    check_outcome(role, conn, events, item.events, item.sent, state=item.state)


@dataclass(frozen=True)
class Staged:
    """A case checked after every read, for what must happen *at once*.

    Attributes:
        id: The Autobahn case number, or the family and what the case adds.
        frames: The frames the peer sends.
        cuts: ``"frame"`` for one read per frame, or payload byte numbers: each read
            ends right before that payload byte (see ``cut_before_payload_bytes``).
        stages: For each read, the events and the frames queued it must produce.
        max_message_size: The limit given to the connection under test.
        deflate: The offer and answer of permessage-deflate (see :class:`Case`).
    """

    id: str
    frames: tuple[Frame, ...]
    cuts: tuple[int, ...] | Literal["frame"]
    stages: tuple[tuple[tuple[Expected, ...], tuple[ExpectedFrame, ...]], ...]
    max_message_size: int | None = 32 * 2**20
    deflate: Negotiation | None = None


def staged(
    id: str,
    frames: Sequence[Frame],
    cuts: Sequence[int] | Literal["frame"],
    *stages: tuple[Sequence[Expected], Sequence[ExpectedFrame]],
    max_message_size: int | None = 32 * 2**20,
    deflate: Negotiation | None = None,
) -> Staged:
    """Build a :class:`Staged` case from lists."""
    return Staged(
        id,
        tuple(frames),
        "frame" if cuts == "frame" else tuple(cuts),
        tuple((tuple(events), tuple(sent)) for events, sent in stages),
        max_message_size,
        deflate,
    )


NOTHING: tuple[Sequence[Expected], Sequence[ExpectedFrame]] = ((), ())
"""A stage after which nothing has happened yet."""


def staged_params(cases: Iterable[Staged]) -> list[ParameterSet]:
    """The parameters of a family of :class:`Staged` cases."""
    return params((c.id, c) for c in cases)


def run_staged(item: Staged, role: Role) -> None:
    """Feed ``item`` read by read, asserting each stage's events and frames, then the state."""
    conn = _open(role, 13, item.max_message_size, item.deflate)
    if item.cuts == "frame":
        reads = peer_frames(role, item.frames)
    else:
        reads = cut_before_payload_bytes(role, item.frames, item.cuts)
    assert len(reads) == len(item.stages)
    all_events: list[Expected] = []
    for number, (data, (events, sent)) in enumerate(zip(reads, item.stages, strict=True), 1):
        got = feed(conn, [data])
        reason = failure_reason(got)
        expect(f"events after read {number}", got, resolve_events(events, reason))
        queued = parse_sent(role, conn.data_to_send())
        expect(f"frames queued after read {number}", queued, resolve_frames(sent, reason))
        all_events.extend(events)
    check_end(role, conn, all_events)
