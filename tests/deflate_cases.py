"""permessage-deflate for the in-memory conformance cases: Autobahn's agreements, a peer's zlib.

Autobahn|Testsuite's family 13 echoes messages under seven offers and answers
(13.1 to 13.7, :data:`NEGOTIATIONS`; 12.x under the first). The conformance
kit plays those families on the wire; ``test_permessage_deflate`` plays the
agreements in memory against this peer.

The peer is independent of the code under test: its handshake is written by
hand (the request of Autobahn's client, the response of Autobahn's server), its
messages are compressed, and the connection's are decompressed, by Python's
:mod:`zlib` with the window bits and context takeover the handshake agreed
(:class:`PeerDeflater`, :class:`PeerInflater`), never by
:mod:`wsproto_core.extensions`.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from dataclasses import dataclass

from conformance_helpers import CONTINUATION, Frame, Role, expect

from wsproto_core import ClientConnection, ConnectionState, ServerConnection
from wsproto_core.events import Accept, Request
from wsproto_core.extensions import (
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
    ServerPerMessageDeflateFactory,
)

TAIL = b"\x00\x00\xff\xff"
"""The end of a ``Z_SYNC_FLUSH``, removed from every compressed message (RFC 7692 §7.2.1)."""

RSV1 = 4
"""RSV1 numbered as Autobahn (and :class:`~conformance_helpers.Frame`) do."""

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
