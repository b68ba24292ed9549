"""permessage-deflate (RFC 7692): negotiation, framing, round trips and the bomb guard."""

from __future__ import annotations

import json
import os
import tracemalloc
import zlib
from typing import TYPE_CHECKING, Any

import pytest
from conformance_helpers import (
    BINARY,
    CONTINUATION,
    NOTHING,
    ROLES,
    TEXT,
    Case,
    Fail,
    Role,
    Staged,
    binary,
    case,
    case_params,
    check_outcome,
    close,
    cont,
    failed,
    feed,
    parse_sent,
    peer_frames,
    run_case,
    run_staged,
    staged,
    staged_params,
    text,
)
from deflate_cases import (
    DECLINED,
    DEFAULT,
    NEGOTIATIONS,
    TAKEOVER,
    Negotiation,
    PeerDeflater,
    PeerInflater,
    deflated,
    open_deflate,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from pairs import open_pair, transfer

from wsproto_core import ClientConnection, ServerConnection
from wsproto_core.errors import HandshakeError, PayloadTooBig, ProtocolError
from wsproto_core.events import BytesMessage, Close, Event, HandshakeFailed, TextMessage
from wsproto_core.extensions import (
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
    ServerPerMessageDeflateFactory,
)
from wsproto_core.frames import serialize_frame

if TYPE_CHECKING:
    from collections.abc import Iterable

KEY = b"\x01\x02\x03\x04"


def deflate_pair(
    client: dict[str, Any] | None = None,
    server: dict[str, Any] | None = None,
    **options: Any,
) -> tuple[ClientConnection, ServerConnection]:
    return open_pair(
        client_options={"extensions": [ClientPerMessageDeflateFactory(**(client or {}))]},
        server_options={
            "extensions": [ServerPerMessageDeflateFactory(**(server or {}))],
            **options,
        },
    )


def messages(events: list[Event]) -> list[bytes | str]:
    out: list[bytes | str] = []
    for event in events:
        assert isinstance(event, TextMessage | BytesMessage), event
        out.append(event.data)
    return out


# -- negotiation: server ------------------------------------------------------------------

P = tuple[tuple[str, str | None], ...]


@pytest.mark.parametrize(
    ("offer", "expected"),
    [
        ((), (("server_max_window_bits", "12"),)),
        (
            (("server_no_context_takeover", None),),
            (("server_no_context_takeover", None), ("server_max_window_bits", "12")),
        ),
        (
            (("client_no_context_takeover", None),),
            (("client_no_context_takeover", None), ("server_max_window_bits", "12")),
        ),
        ((("server_max_window_bits", "10"),), (("server_max_window_bits", "10"),)),
        ((("server_max_window_bits", "15"),), (("server_max_window_bits", "12"),)),
        ((("server_max_window_bits", "8"),), (("server_max_window_bits", "8"),)),
        (
            (("client_max_window_bits", None),),
            (("server_max_window_bits", "12"), ("client_max_window_bits", "12")),
        ),
        (
            (("client_max_window_bits", "9"),),
            (("server_max_window_bits", "12"), ("client_max_window_bits", "9")),
        ),
        (
            (("client_max_window_bits", "15"),),
            (("server_max_window_bits", "12"), ("client_max_window_bits", "12")),
        ),
    ],
)
def test_server_accepts(offer: P, expected: P) -> None:
    accepted = ServerPerMessageDeflateFactory().accept(offer)
    assert accepted is not None
    assert accepted[0] == expected
    assert isinstance(accepted[1], PerMessageDeflate)


@pytest.mark.parametrize(
    "offer",
    [
        (("unknown", None),),
        (("server_no_context_takeover", None), ("server_no_context_takeover", None)),
        (("client_max_window_bits", None), ("client_max_window_bits", "10")),
        (("server_no_context_takeover", "1"),),
        (("client_no_context_takeover", "x"),),
        (("server_max_window_bits", None),),
        (("server_max_window_bits", "7"),),
        (("server_max_window_bits", "16"),),
        (("server_max_window_bits", "08"),),
        (("client_max_window_bits", "abc"),),
        (("client_max_window_bits", "0"),),
    ],
)
def test_server_declines(offer: P) -> None:
    assert ServerPerMessageDeflateFactory().accept(offer) is None


def test_server_defaults_off_keep_zlib_defaults() -> None:
    factory = ServerPerMessageDeflateFactory(
        server_max_window_bits=None, client_max_window_bits=None
    )
    accepted = factory.accept((("client_max_window_bits", None),))
    assert accepted is not None
    assert accepted[0] == ()
    extension = accepted[1]
    assert isinstance(extension, PerMessageDeflate)
    assert extension.local_max_window_bits == extension.remote_max_window_bits == 15


def test_server_configured_no_context_takeover() -> None:
    factory = ServerPerMessageDeflateFactory(
        server_no_context_takeover=True, client_no_context_takeover=True
    )
    accepted = factory.accept(())
    assert accepted is not None
    assert accepted[0][:2] == (
        ("server_no_context_takeover", None),
        ("client_no_context_takeover", None),
    )


def test_server_takes_the_first_acceptable_offer() -> None:
    client = ClientConnection("ws://example.com/")
    del client
    server = ServerConnection(extensions=[ServerPerMessageDeflateFactory()])
    server.receive_data(
        b"GET / HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=99, "
        b"permessage-deflate; client_max_window_bits=10, permessage-deflate\r\n\r\n"
    )
    list(server.events())
    server.accept()
    head = server.data_to_send()
    assert (
        b"Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=12; "
        b"client_max_window_bits=10\r\n" in head
    )


@pytest.mark.parametrize("bits", [7, 16, True])
def test_factory_arguments_checked(bits: Any) -> None:
    with pytest.raises(ValueError, match="8 to 15"):
        ServerPerMessageDeflateFactory(server_max_window_bits=bits)
    with pytest.raises(ValueError, match="8 to 15"):
        PerMessageDeflate(local_max_window_bits=bits if bits is not True else 99)


# -- negotiation: client ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "offer"),
    [
        ({}, (("client_max_window_bits", None),)),
        ({"client_max_window_bits": None}, ()),
        ({"client_max_window_bits": False}, ()),
        ({"client_max_window_bits": 10}, (("client_max_window_bits", "10"),)),
        (
            {
                "server_no_context_takeover": True,
                "client_no_context_takeover": True,
                "server_max_window_bits": 9,
            },
            (
                ("server_no_context_takeover", None),
                ("client_no_context_takeover", None),
                ("server_max_window_bits", "9"),
                ("client_max_window_bits", None),
            ),
        ),
    ],
)
def test_client_offer(options: dict[str, Any], offer: P) -> None:
    assert ClientPerMessageDeflateFactory(**options).offer() == offer


@pytest.mark.parametrize(
    ("options", "response", "local", "remote"),
    [
        ({}, (), 15, 15),
        ({}, (("server_max_window_bits", "10"),), 15, 10),
        ({}, (("client_max_window_bits", "9"),), 9, 15),
        ({"client_max_window_bits": 10}, (), 10, 15),
        ({"client_max_window_bits": 10}, (("client_max_window_bits", "8"),), 8, 15),
        ({"server_max_window_bits": 10}, (("server_max_window_bits", "9"),), 15, 9),
        ({}, (("server_no_context_takeover", None), ("client_no_context_takeover", None)), 15, 15),
    ],
)
def test_client_accepts(options: dict[str, Any], response: P, local: int, remote: int) -> None:
    extension = ClientPerMessageDeflateFactory(**options).accept(response)
    assert isinstance(extension, PerMessageDeflate)
    assert (extension.local_max_window_bits, extension.remote_max_window_bits) == (local, remote)
    names = [name for name, _ in response]
    assert extension.local_no_context_takeover == ("client_no_context_takeover" in names)
    assert extension.remote_no_context_takeover == ("server_no_context_takeover" in names)


@pytest.mark.parametrize(
    ("options", "response"),
    [
        ({}, (("unknown", None),)),
        ({}, (("server_max_window_bits", "10"), ("server_max_window_bits", "10"))),
        ({}, (("server_max_window_bits", "7"),)),
        ({}, (("server_max_window_bits", None),)),
        ({}, (("client_max_window_bits", None),)),
        ({"client_max_window_bits": None}, (("client_max_window_bits", "10"),)),
        ({"client_max_window_bits": 10}, (("client_max_window_bits", "11"),)),
        ({"server_max_window_bits": 10}, ()),
        ({"server_max_window_bits": 10}, (("server_max_window_bits", "11"),)),
        ({"server_no_context_takeover": True}, ()),
        ({}, (("client_no_context_takeover", "1"),)),
    ],
)
def test_client_refuses(options: dict[str, Any], response: P) -> None:
    with pytest.raises(HandshakeError) as info:
        ClientPerMessageDeflateFactory(**options).accept(response)
    assert info.value.status == 101


def test_client_refusal_fails_the_handshake() -> None:
    client = ClientConnection(
        "ws://example.com/",
        extensions=[ClientPerMessageDeflateFactory(client_max_window_bits=None)],
    )
    server = ServerConnection(extensions=[ServerPerMessageDeflateFactory()])
    transfer(client, server)
    server.accept()
    head = server.data_to_send().replace(b"server_max_window_bits=12", b"client_max_window_bits=12")
    client.receive_data(head)
    events = list(client.events())
    assert isinstance(events[0], HandshakeFailed)


@pytest.mark.parametrize("version", [8, 7])
def test_not_negotiated_before_version_13(version: Any) -> None:
    client, server = open_pair(
        version,
        client_options={"extensions": [ClientPerMessageDeflateFactory()]},
        server_options={"extensions": [ServerPerMessageDeflateFactory()]},
    )
    assert client.extensions == server.extensions == ()
    client.send_text("plain")
    assert messages(transfer(client, server)) == ["plain"]


def test_server_ignores_an_offer_on_version_8() -> None:
    server = ServerConnection(extensions=[ServerPerMessageDeflateFactory()])
    server.receive_data(
        b"GET / HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n"
        b"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
    )
    list(server.events())
    server.accept()
    assert b"Sec-WebSocket-Extensions" not in server.data_to_send()
    assert server.extensions == ()


# -- round trips --------------------------------------------------------------------------

SIZES = [0, 1, 100, 4096, 70000, 2**20]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kind", ["zeros", "text", "random"])
@pytest.mark.parametrize("takeover", [True, False])
def test_round_trip(size: int, kind: str, takeover: bool) -> None:
    options = {
        "server_no_context_takeover": not takeover,
        "client_no_context_takeover": not takeover,
    }
    client, server = deflate_pair(options, options)
    if kind == "zeros":
        data = bytes(size)
    elif kind == "random":
        data = os.urandom(size)
    else:
        data = (b"The quick brown fox " * (size // 20 + 1))[:size]
    for _ in range(3):  # several messages: the context is kept, or reset, between them
        client.send_binary(data)
        assert messages(transfer(client, server)) == [data]
        server.send_binary(data)
        assert messages(transfer(server, client)) == [data]
    if kind == "zeros" and size >= 4096:
        client.send_binary(data)
        assert len(client.data_to_send()) < size // 10


def test_text_and_fragments() -> None:
    client, server = deflate_pair()
    for pieces in (["a", "b", "c"], ["", "", ""], ["é" * 1000, "", "ü" * 5]):
        for piece in pieces[:-1]:
            client.send_text(piece, final=False)
        client.send_text(pieces[-1])
        wire = client.data_to_send()
        assert wire[0] == 0x41  # RSV1 on the first frame, no FIN
        server.receive_data(wire)
        assert messages(list(server.events())) == ["".join(pieces)]


def test_continuations_carry_no_rsv1() -> None:
    extension = PerMessageDeflate()
    assert extension.encode(1, b"abc", False)[0] == 0x40
    assert extension.encode(0, b"def", False)[0] == 0
    assert extension.encode(0, b"", True)[0] == 0


def test_threshold_sends_short_messages_uncompressed() -> None:
    client, server = deflate_pair({"compress_threshold": 10}, {"compress_threshold": 10})
    client.send_binary(b"short")
    wire = client.data_to_send()
    assert wire[0] == 0x82
    server.receive_data(wire)
    assert messages(list(server.events())) == [b"short"]
    client.send_binary(b"long enough to compress")
    wire = client.data_to_send()
    assert wire[0] == 0xC2
    server.receive_data(wire)
    assert messages(list(server.events())) == [b"long enough to compress"]


def test_window_bits_8_interoperates() -> None:
    client, server = deflate_pair(
        {"client_max_window_bits": 8, "server_max_window_bits": 8},
        {"server_max_window_bits": 8, "client_max_window_bits": 8},
    )
    # Distances beyond 256 bytes would break an 8-bit decompressor.
    data = os.urandom(300) * 20
    strict = zlib.decompressobj(wbits=-8)
    client.send_binary(data)
    wire = client.data_to_send()
    assert client.extensions[0].local_max_window_bits == 8  # type: ignore[attr-defined]
    compressed = PerMessageDeflate(local_max_window_bits=8).encode(2, data, True)[1]
    assert strict.decompress(compressed + b"\x00\x00\xff\xff") == data
    server.receive_data(wire)
    assert messages(list(server.events())) == [data]


@settings(max_examples=60, deadline=None)
@given(
    messages_in=st.lists(
        st.tuples(st.binary(max_size=3000), st.lists(st.integers(0, 3000), max_size=4)),
        min_size=1,
        max_size=4,
    ),
    chunk=st.integers(1, 500),
    takeover=st.booleans(),
    threshold=st.integers(0, 50),
)
def test_any_message_any_fragmentation_any_chunking(
    messages_in: list[tuple[bytes, list[int]]], chunk: int, takeover: bool, threshold: int
) -> None:
    options = {"client_no_context_takeover": not takeover, "compress_threshold": threshold}
    client, server = deflate_pair(options, {"compress_threshold": threshold})
    for data, cuts in messages_in:
        points = sorted({min(cut, len(data)) for cut in cuts})
        start = 0
        for point in points:
            client.send_binary(data[start:point], final=False)
            start = point
        client.send_binary(data[start:])
    wire = client.data_to_send()
    received: list[Event] = []
    for i in range(0, len(wire), chunk):
        server.receive_data(wire[i : i + chunk])
        received.extend(server.events())
    assert messages(received) == [data for data, _ in messages_in]


# -- failures -----------------------------------------------------------------------------


def failure(server: ServerConnection, wire: bytes) -> Close:
    server.receive_data(wire)
    events = list(server.events())
    assert isinstance(events[-1], Close), events
    return events[-1]


def test_rsv1_on_a_control_frame() -> None:
    _, server = deflate_pair()
    wire = serialize_frame(0x9, b"", fin=True, rsv=0x40, mask_key=KEY)
    assert failure(server, wire).code == 1002


def test_rsv1_on_a_continuation() -> None:
    _, server = deflate_pair()
    first = PerMessageDeflate().encode(2, b"abc", False)[1]
    wire = serialize_frame(2, first, fin=False, rsv=0x40, mask_key=KEY)
    wire += serialize_frame(0, b"\x00", fin=True, rsv=0x40, mask_key=KEY)
    assert failure(server, wire).code == 1002


def test_rsv2_is_still_refused() -> None:
    _, server = deflate_pair()
    assert failure(server, serialize_frame(2, b"x", fin=True, rsv=0x20, mask_key=KEY)).code == 1002


def test_corrupt_compressed_data_is_1002() -> None:
    _, server = deflate_pair()
    wire = serialize_frame(2, b"\xff\xff\xff\xff", fin=True, rsv=0x40, mask_key=KEY)
    assert failure(server, wire).code == 1002


def test_decode_raises_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        PerMessageDeflate().decode(2, 0x40, b"\xff\xff\xff", True)


def test_uncompressed_message_over_the_limit() -> None:
    _, server = deflate_pair(max_message_size=1000)
    assert failure(server, serialize_frame(2, bytes(1001), fin=True, mask_key=KEY)).code == 1009


def test_announced_frame_far_over_the_limit() -> None:
    _, server = deflate_pair(max_message_size=1000)
    header = serialize_frame(2, bytes(200000), fin=True, rsv=0x40, mask_key=KEY)[:14]
    assert failure(server, header).code == 1009


def _bomb(size: int) -> bytes:
    """``size`` zero bytes deflated as one message, built in 1 MiB steps."""
    encoder = zlib.compressobj(wbits=-15)
    block = bytes(2**20)
    parts = [encoder.compress(block) for _ in range(size // len(block))]
    parts.append(encoder.flush(zlib.Z_SYNC_FLUSH))
    return b"".join(parts)[:-4]


def test_bomb_fails_with_1009_and_bounded_memory() -> None:
    limit = 2**20
    compressed = _bomb(256 * 2**20)
    assert len(compressed) < 2**20
    wire = serialize_frame(2, compressed, fin=True, rsv=0x40, mask_key=KEY)
    _, server = deflate_pair(max_message_size=limit)
    del compressed
    tracemalloc.start()
    try:
        for i in range(0, len(wire), 65536):
            server.receive_data(wire[i : i + 65536])
        events = list(server.events())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(events[-1], Close)
    assert events[-1].code == 1009
    assert peak <= 2 * limit, peak


def test_bomb_in_fragments() -> None:
    limit = 2**20
    compressed = _bomb(8 * 2**20)
    third = len(compressed) // 3
    wire = serialize_frame(2, compressed[:third], fin=False, rsv=0x40, mask_key=KEY)
    wire += serialize_frame(0, compressed[third:], fin=True, mask_key=KEY)
    _, server = deflate_pair(max_message_size=limit)
    assert failure(server, wire).code == 1009


def test_message_at_the_limit_passes() -> None:
    limit = 100000
    client, server = deflate_pair(max_message_size=limit)
    data = os.urandom(limit)  # incompressible: a little larger on the wire
    client.send_binary(data)
    assert messages(transfer(client, server)) == [data]
    client.send_binary(data + b"!")
    assert failure(server, client.data_to_send()).code == 1009


def test_bomb_on_version_8_style_codec_uses_1004() -> None:
    from wsproto_core.codec.rfc6455 import Rfc6455Codec

    codec = Rfc6455Codec(
        client=False, version=8, max_message_size=1000, extensions=[PerMessageDeflate()]
    )
    wire = serialize_frame(2, _bomb(2**20), fin=True, rsv=0x40, mask_key=KEY)
    with pytest.raises(ProtocolError) as info:
        codec.receive(wire, [])
    assert info.value.close_code == 1004


def test_decoder_dropped_without_context_takeover() -> None:
    extension = PerMessageDeflate(remote_no_context_takeover=True)
    sender = PerMessageDeflate(local_no_context_takeover=True)
    for _ in range(2):
        rsv, data = sender.encode(1, b"hello hello", True)
        assert extension.decode(1, rsv, data, True) == b"hello hello"
        assert extension._decoder is None
        assert sender._encoder is None


# -- the paths a frame may take: short or long, limited or not, whole or in pieces ---------


def _deflate(data: bytes, wbits: int = -15) -> bytes:
    """``data`` as one message's compressed payload, the tail removed (RFC 7692 §7.2.1)."""
    encoder = zlib.compressobj(wbits=wbits)
    return (encoder.compress(data) + encoder.flush(zlib.Z_SYNC_FLUSH))[:-4]


payloads = st.one_of(
    st.binary(max_size=3000),  # incompressible: frames on both sides of the 2 KiB tail cut
    st.builds(lambda n, b: b * n, st.integers(0, 300000), st.binary(min_size=1, max_size=5)),
)


@settings(max_examples=150, deadline=None)
@given(data=payloads, slack=st.integers(-3, 3), fin=st.booleans())
def test_limited_inflate_is_the_unlimited_one_or_too_big(
    data: bytes, slack: int, fin: bool
) -> None:
    # Every path (one call, steps, the tail appended or apart) gives what an unlimited
    # decoder gives, or refuses the frame when, and only when, it inflates past the budget.
    compressed = _deflate(data)
    if not fin:
        compressed += b"\x00\x00\xff\xff"  # a message's first frame, the flush left in
    limit = max(0, len(data) + slack)
    expected = PerMessageDeflate().decode_limited(1, 0x40, compressed, fin, None)
    assert expected == data
    extension = PerMessageDeflate()
    if len(data) <= limit:
        assert extension.decode_limited(1, 0x40, compressed, fin, limit) == data
    else:
        with pytest.raises(PayloadTooBig) as info:
            extension.decode_limited(1, 0x40, compressed, fin, limit)
        assert info.value.size == limit + 1  # no more than one byte past the budget


@pytest.mark.parametrize("size", [1, 2047, 2048, 2049, 4096])
@pytest.mark.parametrize("step_cut", [0, 1])
def test_limit_exactly_at_the_inflated_size_and_one_under(size: int, step_cut: int) -> None:
    # Around the 2 KiB cut where the tail is appended, and around one zlib step.
    data = os.urandom(size) if step_cut == 0 else bytes(65536 * 2 + size)
    compressed = _deflate(data)
    assert PerMessageDeflate().decode_limited(2, 0x40, compressed, True, len(data)) == data
    with pytest.raises(PayloadTooBig):
        PerMessageDeflate().decode_limited(2, 0x40, compressed, True, len(data) - 1)


def test_context_is_kept_across_short_and_long_frames() -> None:
    sender, receiver = PerMessageDeflate(), PerMessageDeflate()
    for data in [b"abc" * 10, os.urandom(5000), b"abc" * 10, bytes(100000), b""]:
        rsv, compressed = sender.encode(2, data, True)
        assert receiver.decode_limited(2, rsv, compressed, True, 10**6) == data


@pytest.mark.parametrize("limit", [1000, 70000])
def test_whole_message_at_the_limit_and_one_over(limit: int) -> None:
    # One read holding the whole frame: the codec's direct path for unfragmented messages.
    client, server = deflate_pair(max_message_size=limit)
    for size in (limit - 1, limit):  # two messages: the context is kept between them
        client.send_text("x" * size)
        assert messages(transfer(client, server)) == ["x" * size]
    client.send_text("x" * (limit + 1))
    assert failure(server, client.data_to_send()).code == 1009


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(st.text(max_size=400), min_size=1, max_size=6),
    limit=st.one_of(st.none(), st.integers(0, 1200)),
)
def test_one_read_and_byte_by_byte_agree(texts: list[str], limit: int | None) -> None:
    # Whole frames in one read take the direct path; byte by byte, the general one.
    results = []
    for one_read in (True, False):
        client, server = deflate_pair(max_message_size=limit)
        for message in texts:
            client.send_text(message)
        wire = client.data_to_send()
        received: list[Event] = []
        for i in range(0, len(wire), len(wire) if one_read else 1):
            server.receive_data(wire[i : i + (len(wire) if one_read else 1)])
            received.extend(server.events())
        results.append(
            [(type(e).__name__, getattr(e, "data", getattr(e, "code", None))) for e in received]
        )
    assert results[0] == results[1]


@pytest.mark.parametrize(
    ("wire", "code"),
    [
        # A 16-bit length for a 5-byte payload (RFC 6455 §5.2: minimal lengths).
        (b"\xc1\xfe\x00\x05" + KEY + b"\x00" * 5, 1002),
        # An unmasked frame from the client (RFC 6455 §5.3).
        (b"\xc1\x05" + b"\x00" * 5, 1002),
        # RSV3, which permessage-deflate does not define.
        (serialize_frame(1, b"abc", rsv=0x50, mask_key=KEY), 1002),
        # A reserved opcode with RSV1.
        (serialize_frame(3, b"abc", rsv=0x40, mask_key=KEY), 1002),
        # Invalid UTF-8 in a compressed text message.
        (serialize_frame(1, _deflate(b"\xff"), rsv=0x40, mask_key=KEY), 1007),
        # A compressed message while a fragmented one is open.
        (
            serialize_frame(
                1, _deflate(b"a") + b"\x00\x00\xff\xff", fin=False, rsv=0x40, mask_key=KEY
            )
            + serialize_frame(1, _deflate(b"b"), rsv=0x40, mask_key=KEY),
            1002,
        ),
    ],
)
def test_broken_whole_frames_are_refused(wire: bytes, code: int) -> None:
    _, server = deflate_pair()
    assert failure(server, wire).code == code


def test_short_bomb_fails_with_bounded_memory() -> None:
    # 2 MiB of zeros in one frame of about 2 KiB: inflated in one call, then in steps.
    limit = 2**20
    compressed = _bomb(2 * 2**20)
    assert len(compressed) <= 2100
    wire = serialize_frame(2, compressed, fin=True, rsv=0x40, mask_key=KEY)
    _, server = deflate_pair(max_message_size=limit)
    tracemalloc.start()
    try:
        events = failure_events(server, wire)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(events[-1], Close)
    assert events[-1].code == 1009
    assert peak <= 2 * limit, peak


def failure_events(server: ServerConnection, wire: bytes) -> list[Event]:
    server.receive_data(wire)
    return list(server.events())


@pytest.mark.parametrize("limit", [None, 3004, 3003])
def test_tail_inflated_apart_may_yield_data(limit: int | None) -> None:
    # A long final frame ending in a stored block's header announcing 4 bytes: the
    # tail put back (RFC 7692 §7.2.2) is those 4 bytes, counted in the budget.
    data = os.urandom(3000)
    encoder = zlib.compressobj(wbits=-15)
    compressed = encoder.compress(data) + encoder.flush(zlib.Z_SYNC_FLUSH)
    compressed += b"\x00\x04\x00\xfb\xff"  # BFINAL 0, stored; LEN 4, NLEN
    extension = PerMessageDeflate()
    if limit is not None and limit < 3004:
        with pytest.raises(PayloadTooBig):
            extension.decode_limited(2, 0x40, compressed, True, limit)
    else:
        expected = data + b"\x00\x00\xff\xff"
        assert extension.decode_limited(2, 0x40, compressed, True, limit) == expected


def test_streamed_whole_compressed_message_is_one_final_event() -> None:
    client, server = deflate_pair(stream_messages=True)
    client.send_text("hello" * 100)
    client.send_text("a", final=False)
    client.send_text("b")
    events = transfer(client, server)
    assert [(e.data, e.final) for e in events if isinstance(e, TextMessage)] == [
        ("hello" * 100, True),
        ("ab", True),
    ]


# -- Autobahn's agreements and the RFC's examples, against an independent peer --------------------
#
# The conformance kit's families 12 and 13 and its deflate group play these on the wire, with a
# peer built on this library's own codec. Here the peer is independent (deflate_cases: a
# handshake written by hand, Python's zlib): each agreement's exact response, the extension built
# from it, and echoes inflated by the peer's own zlib, RSV1 on their first frame only.

_ECHOED = [
    (TEXT, json.dumps([{"id": n, "name": f"name {n}", "tags": ["a", "b"]} for n in range(64)])),
    (TEXT, json.dumps([{"id": n, "about": "x" * (n % 7)} for n in range(80)])),
    (BINARY, bytes(range(256)) * 64),
    (BINARY, b"\x00\xfe\x23\xfa\xf0" * 4000),
]
"""(opcode, message) echoed under each agreement: text and binary, each whole and in pieces."""


def _echo_pieces(data: bytes, number: int) -> list[bytes]:
    """How the application echoes message ``number``: whole, or (odd numbers) in 4 pieces."""
    if number % 2 == 0:
        return [data]
    size = -(-len(data) // 4)
    return [data[i : i + size] for i in range(0, len(data), size)]


def _echo(
    conn: ServerConnection | ClientConnection, number: int, reads: list[bytes]
) -> list[Event]:
    events: list[Event] = []
    for data in reads:
        conn.receive_data(data)
        for event in conn.events():
            events.append(event)
            if isinstance(event, TextMessage):
                *init, last = _echo_pieces(event.data.encode(), number)
                for piece in init:
                    conn.send_text(piece.decode(), final=False)
                conn.send_text(last.decode())
            elif isinstance(event, BytesMessage):
                *init, last = _echo_pieces(event.data, number)
                for piece in init:
                    conn.send_binary(piece, final=False)
                conn.send_binary(last)
    return events


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "negotiation", NEGOTIATIONS, ids=[f"13.{n}" for n in range(1, len(NEGOTIATIONS) + 1)]
)
def test_autobahn_agreements_echo_through_an_independent_zlib(
    negotiation: Negotiation, role: Role
) -> None:
    conn, agreed = open_deflate(role, negotiation)  # checks the response and the extension
    assert agreed is not None
    (own_nct, own_bits), (peer_nct, peer_bits) = agreed.sides(role)
    deflater = PeerDeflater(peer_bits, peer_nct)
    inflater = PeerInflater(own_bits, own_nct)
    for number, (opcode, message) in enumerate(_ECHOED):
        data = message.encode() if isinstance(message, str) else message
        frames = deflater.frames(opcode, data, 256 if number % 2 else 0)
        events = _echo(conn, number, [b"".join(peer_frames(role, frames))])
        expected = TextMessage(data.decode()) if opcode == TEXT else BytesMessage(data)
        assert events == [expected]
        sent = parse_sent(role, conn.data_to_send())
        pieces = len(_echo_pieces(data, number))
        shape = [
            (opcode if n == 0 else CONTINUATION, n == pieces - 1, 4 if n == 0 else 0)
            for n in range(pieces)
        ]
        assert [(f.opcode, f.fin, f.rsv) for f in sent] == shape
        assert inflater.inflate(b"".join(f.payload for f in sent)) == data
    events = feed(conn, peer_frames(role, [close(1000)]))
    check_outcome(role, conn, events, [Close(1000, "")], [close(1000)])


_RFC_HELLO = bytes.fromhex("f248cdc9c90700")
"""RFC 7692 §7.2.3.1: "Hello" in one compressed DEFLATE block, the flush's tail removed."""
_RFC_HELLO_AGAIN = bytes.fromhex("f200110000")
"""RFC 7692 §7.2.3.2: "Hello" again, referring back into the message before."""
_RFC_HELLO_BFINAL = bytes.fromhex("f348cdc9c9070000")
"""RFC 7692 §7.2.3.4: "Hello" in a block with BFINAL set, then one byte for the tail."""
_RESERVED_BLOCK = b"\xff\xff\xff\xff"
"""Not DEFLATE: a block of type 11, reserved (RFC 1951 §3.2.3)."""
_LIMIT_ZEROS = 1000


def _sync_flushed(*parts: bytes) -> list[bytes]:
    """``parts`` compressed as one message, flushed after each: each may be a frame's payload."""
    compressor = zlib.compressobj(wbits=-9)
    flushed = [compressor.compress(p) + compressor.flush(zlib.Z_SYNC_FLUSH) for p in parts]
    flushed[-1] = flushed[-1][:-4]  # the message's tail (RFC 7692 §7.2.1)
    return flushed


def _deflate_cases() -> Iterable[Case]:
    # What depends on the agreement, which the catalogue's deflate group (under whatever a
    # testee agrees) leaves out: with context takeover agreed both ways (TAKEOVER), the peer
    # may refer back into its last message (RFC 7692 §7.2.3.2).
    hello = TextMessage("Hello")
    yield case(
        "12.x-rfc7692-7.2.3.2",
        [text(_RFC_HELLO, rsv=4), binary(b"not compressed"), text(_RFC_HELLO_AGAIN, rsv=4)],
        [hello, BytesMessage(b"not compressed"), hello],
        deflate=TAKEOVER,
    )
    yield case(
        "12.x-rfc7692-7.2.3.2-without-the-message-before",
        [text(_RFC_HELLO_AGAIN, rsv=4)],
        *failed(1002),  # a distance too far back
        deflate=TAKEOVER,
    )
    # After a block with BFINAL, the next message starts a new DEFLATE stream, takeover or not.
    yield case(
        "12.x-rfc7692-7.2.3.4-then-another",
        [text(_RFC_HELLO_BFINAL, rsv=4), text(_RFC_HELLO, rsv=4)],
        [hello, hello],
        deflate=TAKEOVER,
    )
    # An empty message compresses to 0x00 (RFC 7692 §7.2.1); an empty payload with RSV1 is
    # not what a compressor makes, but is taken as an empty message: the context must survive.
    for id, empty in (("12.x-empty-message-as-00", b"\x00"), ("12.x-empty-payload", b"")):
        yield case(
            f"{id}-then-another",
            [text(empty, rsv=4), text(_RFC_HELLO, rsv=4), text(_RFC_HELLO_AGAIN, rsv=4)],
            [TextMessage(""), hello, hello],
            deflate=TAKEOVER,
        )
    # Our client offered, the server agreed nothing: RSV1 is reserved again (3.x on the wire).
    yield case(
        "12.x-rsv1-when-deflate-was-declined",
        [text(_RFC_HELLO, rsv=4)],
        *failed(1002),
        deflate=DECLINED,
    )
    # limits.13 to limits.16 on the wire; here the state: a message over the limit once
    # inflated keeps the framing in step, the connection awaits the peer's close (CLOSING).
    zeros = bytes(_LIMIT_ZEROS)
    halves = _sync_flushed(bytes(600), bytes(401))
    for id, frames in (
        ("limits.13", [binary(deflated(zeros + b"\x00"), rsv=4)]),
        ("limits.14", [binary(halves[0], fin=False, rsv=4), cont(halves[1])]),
        ("limits.15", [binary(deflated(bytes(2**20)), rsv=4)]),
        ("limits.16", [binary(zeros + b"\x00")]),
    ):
        yield case(id, frames, *failed(1009), max_message_size=_LIMIT_ZEROS, deflate=DEFAULT)


@pytest.mark.parametrize(("item", "role"), case_params(_deflate_cases()))
def test_deflate_case(item: Case, role: Role) -> None:
    run_case(item, role)


def _deflate_staged() -> Iterable[Staged]:
    # Each frame is inflated as it arrives: its failure comes with it, not with the message's end.
    yield staged(
        "deflate.x-corrupt-first-fragment-fails-at-once",
        [text(_RESERVED_BLOCK, fin=False, rsv=4), cont(_RFC_HELLO)],
        "frame",
        ([Fail(1002)], [Fail(1002)]),
        NOTHING,
        deflate=DEFAULT,
    )
    parts = _sync_flushed(bytes(1001), b"")
    yield staged(
        "limits.x-past-the-limit-in-first-fragment-fails-at-once",
        [binary(parts[0], fin=False, rsv=4), cont(parts[1])],
        "frame",
        ([Fail(1009)], [Fail(1009)]),
        NOTHING,
        max_message_size=_LIMIT_ZEROS,
        deflate=DEFAULT,
    )


@pytest.mark.parametrize(("item", "role"), staged_params(_deflate_staged()))
def test_deflate_fails_at_once(item: Staged, role: Role) -> None:
    run_staged(item, role)
