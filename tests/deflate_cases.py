"""permessage-deflate for the conformance cases: Autobahn's 12.x and 13.x, and an independent peer.

Autobahn|Testsuite's compression families echo messages cut from five test files
(12.1 to 12.5, with the default offer) and from one of them under seven offers
and answers (13.1 to 13.7), each at the same 18 message sizes and auto-fragment
sizes (:data:`MSG_SIZES`). The files themselves (Goethe's Faust, the Lena
picture, a PDF paper, JSON and HTML dumps) are not shipped here: each is stood in
for by a payload of the same kind and size generated from a fixed seed
(:data:`CORPORA`).

The peer is independent of the code under test: its handshake is written by
hand (the request of Autobahn's client, the response of Autobahn's server), its
messages are compressed, and the connection's are decompressed, by Python's
:mod:`zlib` with the window bits and context takeover the handshake agreed
(:class:`PeerDeflater`, :class:`PeerInflater`), never by
:mod:`wsproto_core.extensions`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import math
import random
import struct
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from conformance_helpers import CONTINUATION, Frame, Role, expect

from wsproto_core import ClientConnection, ConnectionState, ServerConnection
from wsproto_core.events import Accept, Request
from wsproto_core.extensions import (
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
    ServerPerMessageDeflateFactory,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

TAIL = b"\x00\x00\xff\xff"
"""The end of a ``Z_SYNC_FLUSH``, removed from every compressed message (RFC 7692 §7.2.1)."""

RSV1 = 4
"""RSV1 numbered as Autobahn (and :class:`~conformance_helpers.Frame`) do."""

# -- the message sizes ----------------------------------------------------------------------------

MSG_SIZES: tuple[tuple[int, int], ...] = (
    *((size, 0) for size in (16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072)),
    *((size, 256) for size in (8192, 16384, 32768, 65536, 131072)),
    (131072, 1024),
    (131072, 4096),
    (131072, 32768),
)
"""Autobahn's (message size, auto-fragment size) of cases ``x.y.1`` to ``x.y.18``; an
auto-fragment size cuts the compressed message into frames of that many bytes (0: one frame)."""


def message_count(size: int) -> int:
    """How many messages a case echoes each way: fewer than Autobahn's 1000, for time.

    16 messages up to 4 KiB, then 64 KiB worth of messages, never fewer than 3:
    echoes go whole and in fragments by turns, so with 3 the compressor's context
    has carried over from a whole message into a fragmented one and back.
    """
    return max(3, min(16, 65536 // size))


# -- the payloads ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Corpus:
    """A stand-in for one of Autobahn's test files.

    Attributes:
        family: The 12.x family that uses it.
        description: Autobahn's description of the file it stands in for.
        size: That file's size, which the stand-in has too.
        binary: Sent as binary messages (else as text; text stand-ins are ASCII, so
            any slice of them is UTF-8, as Autobahn's JSON and HTML files are).
    """

    family: str
    description: str
    size: int
    binary: bool

    @property
    def data(self) -> bytes:
        """The payload (made once, from a fixed seed)."""
        return _generate(self.family)


CORPORA: tuple[Corpus, ...] = (
    Corpus("12.1", "Large JSON data file", 194056, binary=False),
    Corpus("12.2", "Lena Picture, Bitmap 512x512 bw", 263222, binary=True),
    Corpus("12.3", "Human readable text, Goethe's Faust I (German)", 222218, binary=True),
    Corpus("12.4", "Large HTML file", 263527, binary=False),
    Corpus("12.5", "A larger PDF", 1042328, binary=True),
)
JSON_CORPUS = CORPORA[0]
"""The payload of every 13.x case."""

_SYLLABLES = ("ka", "lo", "mi", "ren", "tas", "vo", "quin", "bel", "dor", "sa", "ne", "ith")
_WORDS_DE = (
    "Nacht", "Geist", "Herz", "Welt", "Mädchen", "Blüte", "Träume", "schön", "Größe", "über",
    "wärmt", "Himmel", "Erde", "Licht", "Schatten", "Seele", "ewig", "fühlt", "müde", "Stunde",
    "Tür", "Glück", "Zweifel", "Wissen", "strebt", "irrt", "Mensch", "lang", "süß", "Flügel",
    "hören", "Lüfte", "Flamme", "der", "die", "das", "und", "ich", "nicht", "mit", "zu", "ein",
)  # fmt: skip


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


def _json(rng: random.Random, size: int) -> bytes:
    records: list[object] = []
    length = 0
    while length < size:
        first, last = _name(rng), _name(rng)
        record = {
            "id": len(records),
            "guid": f"{rng.getrandbits(128):032x}",
            "isActive": rng.random() < 0.5,
            "balance": f"${rng.randint(1000, 99999) / 100:,.2f}",
            "age": rng.randint(18, 90),
            "name": f"{first} {last}",
            "email": f"{first.lower()}.{last.lower()}@example.com",
            "about": " ".join(rng.choice(_WORDS_DE) for _ in range(rng.randint(8, 30))),
            "latitude": round(rng.uniform(-90, 90), 6),
            "longitude": round(rng.uniform(-180, 180), 6),
            "tags": [_name(rng).lower() for _ in range(rng.randint(1, 6))],
            "friends": [{"id": i, "name": _name(rng)} for i in range(rng.randint(0, 3))],
        }
        records.append(record)
        length += len(json.dumps(record, indent=2)) + 4
    text = json.dumps(records, indent=2)  # ensure_ascii: "ä" travels as "\u00e4"
    return text[:size].encode("ascii")


def _bitmap(rng: random.Random, size: int) -> bytes:
    # A 512x512 8-bit grayscale BMP: file header, info header, palette, then the rows.
    side = 512
    header = b"BM" + struct.pack("<IHHI", size, 0, 0, 14 + 40 + 1024)
    info = struct.pack("<IiiHHIIiiII", 40, side, side, 1, 8, 0, side * side, 2835, 2835, 256, 256)
    palette = b"".join(bytes((v, v, v, 0)) for v in range(256))
    across = [int(50 * math.sin(x / 23) + 20 * math.sin(x / 5.3)) for x in range(side)]
    down = [int(60 * math.cos(y / 31)) + 128 for y in range(side)]
    noise = rng.randbytes(side * side)
    rows = []
    for y in range(side):
        row_noise = noise[y * side : (y + 1) * side]
        base = down[y]
        rows.append(
            bytes(
                min(255, max(0, base + a + (n & 15) - 8))
                for a, n in zip(across, row_noise, strict=True)
            )
        )
    data = header + info + palette + b"".join(rows)
    assert len(data) == size
    return data


def _verse(rng: random.Random, size: int) -> bytes:
    speakers = ("DER WANDRER.", "DIE STIMME.", "CHOR.", "DER ALTE.")
    lines: list[str] = []
    length = 0
    while length < size:
        if rng.random() < 0.1:
            line = "\n" + rng.choice(speakers)
        else:
            words = [rng.choice(_WORDS_DE) for _ in range(rng.randint(4, 9))]
            line = " ".join(words).capitalize() + rng.choice((",", ".", "!", "?", ";", ""))
        lines.append(line)
        length += len(line.encode()) + 1
    return "\n".join(lines).encode()[:size]  # may end inside a character: sent as binary


def _html(rng: random.Random, size: int) -> bytes:
    parts = [
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>Index</title>\n'
        "<style>.item { margin: 0 1em; } td { padding: 2px; }</style>\n</head>\n<body>\n"
    ]
    length = len(parts[0])
    n = 0
    while length < size:
        words = " ".join(rng.choice(_WORDS_DE) for _ in range(rng.randint(10, 40)))
        words = words.replace("ä", "&auml;").replace("ö", "&ouml;").replace("ü", "&uuml;")
        words = words.replace("ß", "&szlig;").replace("Ä", "&Auml;").replace("Ü", "&Uuml;")
        links = "".join(
            f'  <li><a href="/item/{rng.randint(0, 9999)}">{_name(rng)}</a></li>\n'
            for _ in range(rng.randint(1, 5))
        )
        cells = "".join(f"<td>{rng.randint(0, 10**6)}</td>" for _ in range(rng.randint(2, 6)))
        part = (
            f'<div class="item" id="item-{n}">\n<h2>{_name(rng)} {_name(rng)}</h2>\n'
            f"<p>{words}</p>\n<ul>\n{links}</ul>\n<table><tr>{cells}</tr></table>\n</div>\n"
        )
        parts.append(part)
        length += len(part)
        n += 1
    return "".join(parts)[:size].encode("ascii")


def _pdf(rng: random.Random, size: int) -> bytes:
    # Mostly already-compressed streams (incompressible), some page and text objects.
    parts = [b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"]
    length = len(parts[0])
    n = 1
    while length < size:
        if n % 5 == 0:
            body = "".join(
                f"BT /F1 {rng.randint(8, 14)} Tf {rng.randint(50, 500)} {rng.randint(50, 750)} Td "
                f"({' '.join(rng.choice(_WORDS_DE) for _ in range(6))}) Tj ET\n"
                for _ in range(rng.randint(20, 60))
            ).encode()
            part = b"%d 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (
                n,
                len(body),
                body,
            )
        elif n % 5 == 1:
            part = (
                b"%d 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                b"/Contents %d 0 R /Resources << /Font << /F1 4 0 R >> >> >>\nendobj\n" % (n, n + 4)
            )
        else:
            stream = rng.randbytes(rng.randint(2000, 30000))
            part = b"%d 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream\n" % (
                n,
                len(stream),
                stream,
            )
            part += b"endobj\n"
        parts.append(part)
        length += len(part)
        n += 1
    return b"".join(parts)[:size]


@functools.cache
def _generate(family: str) -> bytes:
    [corpus] = [c for c in CORPORA if c.family == family]
    make = {"12.1": _json, "12.2": _bitmap, "12.3": _verse, "12.4": _html, "12.5": _pdf}[family]
    data = make(random.Random(f"autobahn {family}"), corpus.size)
    assert len(data) == corpus.size
    return data


def messages(data: bytes, size: int, count: int) -> Iterator[bytes]:
    """``count`` messages of ``size`` bytes, cut one after the other from ``data`` read as a ring.

    As Autobahn does: each message starts where the one before ended.
    """
    start = 0
    for _ in range(count):
        end = start + size
        doubled = data + data if end > len(data) else data
        yield doubled[start:end]
        start = end % len(data)


def digest(data: bytes) -> tuple[int, str]:
    """A short stand-in for ``data`` in a failure report: its length and SHA-1 (as Autobahn's)."""
    return len(data), hashlib.sha1(data).hexdigest()


# -- what the handshake agrees --------------------------------------------------------------------


@dataclass(frozen=True)
class Agreed:
    """The parameters of one agreed permessage-deflate (RFC 7692 §7.1)."""

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int = 15
    client_max_window_bits: int = 15

    @classmethod
    def parse(cls, response: str) -> Agreed:
        """The parameters a ``Sec-WebSocket-Extensions`` response agrees (one extension)."""
        name, *params = (p.strip() for p in response.split(";"))
        assert name == "permessage-deflate", response
        found = dict(p.partition("=")[::2] for p in params)
        assert len(found) == len(params), response
        return cls(
            "server_no_context_takeover" in found,
            "client_no_context_takeover" in found,
            int(found.get("server_max_window_bits", 15)),
            int(found.get("client_max_window_bits", 15)),
        )

    def sides(self, role: Role) -> tuple[tuple[bool, int], tuple[bool, int]]:
        """((no context takeover, window bits) of the ``role`` side, the same of its peer)."""
        server = (self.server_no_context_takeover, self.server_max_window_bits)
        client = (self.client_no_context_takeover, self.client_max_window_bits)
        return (server, client) if role == "server" else (client, server)


@dataclass(frozen=True)
class Negotiation:
    """One 13.x parameter set, seen from each role.

    Attributes:
        offer: What Autobahn's client offers (``Sec-WebSocket-Extensions``), to test a server.
        response: What our :class:`ServerPerMessageDeflateFactory`, as configured by
            default, must answer to ``offer`` (``""``: no extension, no header).
        answer: What Autobahn's server answers to our :class:`ClientPerMessageDeflateFactory`'s
            default offer :data:`CLIENT_OFFER`, to test a client (``""``: no header).
    """

    offer: str
    response: str
    answer: str


CLIENT_OFFER = "permessage-deflate; client_max_window_bits"
"""The default offer of :class:`ClientPerMessageDeflateFactory`."""

_PMD = "permessage-deflate"
_OFFERED = f"{_PMD}; client_no_context_takeover; client_max_window_bits"
"""Autobahn's default offer: it accepts that we ask it for no context takeover or a window."""
_ANSWER = (
    f"{_PMD}; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=12"
)
"""Our server's default answer to it: 4 KiB windows both ways (the factory's defaults)."""

DEFAULT = Negotiation(_OFFERED, _ANSWER, _PMD)
"""12.x: Autobahn's default offer, accepted as it is."""

NEGOTIATIONS: tuple[Negotiation, ...] = (
    DEFAULT,
    Negotiation(
        f"{_OFFERED}; server_no_context_takeover",
        _ANSWER.replace("deflate;", "deflate; server_no_context_takeover;"),
        f"{_PMD}; client_no_context_takeover",
    ),
    Negotiation(
        f"{_OFFERED}; server_max_window_bits=8",
        _ANSWER.replace("server_max_window_bits=12", "server_max_window_bits=8"),
        f"{_PMD}; client_max_window_bits=8",
    ),
    Negotiation(
        f"{_OFFERED}; server_max_window_bits=15",
        _ANSWER,  # at most what was asked: our 12 bits
        f"{_PMD}; client_max_window_bits=15",
    ),
    Negotiation(
        f"{_OFFERED}; server_no_context_takeover; server_max_window_bits=8",
        f"{_PMD}; server_no_context_takeover; client_no_context_takeover; "
        "server_max_window_bits=8; client_max_window_bits=12",
        f"{_PMD}; client_no_context_takeover; client_max_window_bits=8",
    ),
    Negotiation(
        f"{_OFFERED}; server_no_context_takeover; server_max_window_bits=15",
        _ANSWER.replace("deflate;", "deflate; server_no_context_takeover;"),
        f"{_PMD}; client_no_context_takeover; client_max_window_bits=15",
    ),
    # Three offers in order of preference: the first is accepted (Autobahn's server, asked
    # for (no context takeover, 8 bits), then (no context takeover), then the default, also
    # answers its first choice).
    Negotiation(
        f"{_OFFERED}; server_no_context_takeover; server_max_window_bits=8, "
        f"{_OFFERED}; server_no_context_takeover, {_OFFERED}",
        f"{_PMD}; server_no_context_takeover; client_no_context_takeover; "
        "server_max_window_bits=8; client_max_window_bits=12",
        f"{_PMD}; client_no_context_takeover; client_max_window_bits=8",
    ),
)
"""13.1 to 13.7: Autobahn's client offers (no context takeover, window bits) asked of the
server: (no, none), (yes, none), (no, 8), (no, 15), (yes, 8), (yes, 15), then
[(yes, 8), (yes, none), (no, none)]; its server asks the same of the client."""

TAKEOVER = Negotiation(
    CLIENT_OFFER, f"{_PMD}; server_max_window_bits=12; client_max_window_bits=12", _PMD
)
"""Not Autobahn's: our client's offer, answered as it is, so that neither side agreed to
no context takeover: the peer may refer back into its earlier messages (RFC 7692 §7.2.3.2)."""

DECLINED = Negotiation("x-webkit-deflate-frame", "", "")
"""Not Autobahn's: an offer our server does not know, so nothing is agreed; our client,
having offered permessage-deflate, gets a response with no extension."""


# -- the handshakes, by hand ----------------------------------------------------------------------

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def parse_head(data: bytes) -> tuple[str, list[tuple[str, str]]]:
    """The start line and the headers (names lowercased) of an HTTP head."""
    head, separator, _ = data.partition(b"\r\n\r\n")
    assert separator, f"an unfinished HTTP head: {data!r}"
    start, *lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    return start, headers


def header(headers: list[tuple[str, str]], name: str) -> list[str]:
    """Every value of the header ``name``."""
    return [value for n, value in headers if n == name]


def accept_value(key: str) -> str:
    """``Sec-WebSocket-Accept`` for ``key`` (RFC 6455 §4.2.2 item 5.4)."""
    return base64.b64encode(hashlib.sha1(key.encode("ascii") + _GUID).digest()).decode("ascii")


def _check_extension(
    conn: ServerConnection | ClientConnection, role: Role, agreed: Agreed | None
) -> None:
    if agreed is None:
        expect("the extensions built", conn.extensions, ())
        return
    (local_nct, local_bits), (remote_nct, remote_bits) = agreed.sides(role)
    [extension] = conn.extensions
    assert isinstance(extension, PerMessageDeflate), extension
    got = (
        extension.local_no_context_takeover,
        extension.remote_no_context_takeover,
        extension.local_max_window_bits,
        extension.remote_max_window_bits,
    )
    expect("the extension built", got, (local_nct, remote_nct, local_bits, remote_bits))


def open_deflate(
    role: Role, negotiation: Negotiation = DEFAULT, max_message_size: int | None = 32 * 2**20
) -> tuple[ServerConnection | ClientConnection, Agreed | None]:
    """An open connection in ``role`` that negotiated permessage-deflate with an Autobahn-like peer.

    Server: Autobahn's client offers ``negotiation.offer``; the response must be exactly
    ``negotiation.response``. Client: our default offer must be :data:`CLIENT_OFFER`;
    Autobahn's server answers ``negotiation.answer``, which must be accepted. Either way
    the extension built must hold what the response agreed (``None``: nothing agreed).
    """
    conn: ServerConnection | ClientConnection
    if role == "server":
        conn = ServerConnection(
            extensions=[ServerPerMessageDeflateFactory()], max_message_size=max_message_size
        )
        conn.receive_data(
            "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {_KEY}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Extensions: {negotiation.offer}\r\n\r\n".encode("latin-1")
        )
        [request] = conn.events()
        assert isinstance(request, Request), request
        conn.accept()
        start, headers = parse_head(conn.data_to_send())
        expect("status", start, "HTTP/1.1 101 Switching Protocols")
        accept = header(headers, "sec-websocket-accept")
        expect("Sec-WebSocket-Accept", accept, [accept_value(_KEY)])
        extensions = header(headers, "sec-websocket-extensions")
        expected = [negotiation.response] if negotiation.response else []
        expect("Sec-WebSocket-Extensions", extensions, expected)
        agreed = Agreed.parse(negotiation.response) if negotiation.response else None
    else:
        conn = ClientConnection(
            "ws://example.com/chat",
            extensions=[ClientPerMessageDeflateFactory()],
            max_message_size=max_message_size,
        )
        _, headers = parse_head(conn.data_to_send())
        offered = header(headers, "sec-websocket-extensions")
        expect("Sec-WebSocket-Extensions offered", offered, [CLIENT_OFFER])
        [key] = header(headers, "sec-websocket-key")
        answer = negotiation.answer and f"Sec-WebSocket-Extensions: {negotiation.answer}\r\n"
        conn.receive_data(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept_value(key)}\r\n{answer}\r\n".encode("latin-1")
        )
        [accepted] = conn.events()
        assert isinstance(accepted, Accept), accepted
        agreed = Agreed.parse(negotiation.answer) if negotiation.answer else None
    _check_extension(conn, role, agreed)
    assert conn.state is ConnectionState.OPEN
    assert conn.data_to_send() == b""
    return conn, agreed


# -- the peer's zlib ------------------------------------------------------------------------------


class PeerDeflater:
    """The peer's compressor: zlib, raw DEFLATE, within the window the peer was allowed.

    zlib refuses a raw-DEFLATE compressor of 8 window bits; for 8 this uses 9, which
    fits in 256 bytes all the same: zlib never looks further back than the window
    less 262 bytes (its ``MIN_LOOKAHEAD``), 250 bytes for 9 bits.
    """

    def __init__(self, window_bits: int, no_context_takeover: bool) -> None:
        self.window_bits = max(window_bits, 9)
        self.no_context_takeover = no_context_takeover
        self._compressor: zlib._Compress | None = None

    def compress(self, data: bytes) -> bytes:
        """One message compressed, its ``00 00 ff ff`` tail removed (RFC 7692 §7.2.1)."""
        if self._compressor is None or self.no_context_takeover:
            self._compressor = zlib.compressobj(wbits=-self.window_bits)
        compressed = self._compressor.compress(data) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
        assert compressed.endswith(TAIL)
        return compressed[:-4]

    def frames(self, opcode: int, data: bytes, fragment_size: int) -> list[Frame]:
        """One message, compressed, in frames of ``fragment_size`` bytes (0: one frame).

        As Autobahn cuts a compressed message: RSV1 on the first frame only (RFC 7692 §6).
        """
        compressed = self.compress(data)
        size = fragment_size or len(compressed) or 1
        pieces = [compressed[i : i + size] for i in range(0, len(compressed), size)] or [b""]
        return [
            Frame(
                opcode if n == 0 else CONTINUATION,
                piece,
                fin=n == len(pieces) - 1,
                rsv=RSV1 if n == 0 else 0,
            )
            for n, piece in enumerate(pieces)
        ]


class PeerInflater:
    """The peer's decompressor, held to the window the connection under test agreed to keep.

    A new one per message when that side agreed to no context takeover: a message
    that refers back into an earlier one then fails to inflate.
    """

    def __init__(self, window_bits: int, no_context_takeover: bool) -> None:
        self.window_bits = window_bits
        self.no_context_takeover = no_context_takeover
        self._decompressor: zlib._Decompress | None = None

    def inflate(self, compressed: bytes) -> bytes:
        """One message's payloads, joined, inflated (the tail put back, RFC 7692 §7.2.2)."""
        if self._decompressor is None or self.no_context_takeover:
            self._decompressor = zlib.decompressobj(wbits=-self.window_bits)
        data = self._decompressor.decompress(compressed + TAIL)
        assert not self._decompressor.eof, "a final DEFLATE block ends the context"
        assert self._decompressor.unconsumed_tail == b""
        return data


def deflated(data: bytes, window_bits: int = 9) -> bytes:
    """``data`` compressed as one message by a fresh compressor, tail removed.

    9 window bits fit within every window a handshake may agree (see :class:`PeerDeflater`).
    """
    return PeerDeflater(window_bits, no_context_takeover=True).compress(data)
