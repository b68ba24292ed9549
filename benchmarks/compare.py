"""Compare the RFC 6455 receive path, compression and the handshake with websockets and others.

Run with ``python benchmarks/compare.py`` (``--quick`` for fewer repeats). Every
library parses the SAME bytes, server side (masked frames), in one process run;
each case is timed with :mod:`timeit` on the process's CPU time, the libraries
taking turns within each of N repeats, best repeat kept; the ratios
printed are *peer time / our time* (above 1 means we are faster).

What each library runs, from a fresh parser per repetition:

* ``wsproto_core``: :class:`~wsproto_core.codec.rfc6455.Rfc6455Codec` ``receive``,
  producing ``TextMessage``/``BytesMessage`` events (text decoded and checked).
* ``websockets``: its sans-IO ``Protocol`` in the OPEN state, ``receive_data`` then
  ``events_received``, with the C ``websockets.speedups`` masking (checked at start).
  It yields frames and leaves UTF-8 decoding and message assembly to its I/O layer,
  so it does less work per message than the others.
* ``wsproto``: ``FrameProtocol`` ``receive_bytes`` then ``received_frames`` (text decoded).
* ``aiohttp``: ``WebSocketReader.feed_data`` into its ``WebSocketDataQueue`` (the Cython
  reader when built, as installed; text decoded).

Two rows compare permessage-deflate (RFC 7692) with websockets alone, both with
context takeover and a 4 KiB window: receiving 1000 compressed 1 KiB JSON-like
texts (ours also decodes and checks the UTF-8, which websockets leaves to its I/O
layer), and sending them server side (unmasked) through the path an adapter
takes, ``send_text`` then ``data_to_send`` (websockets: ``str.encode``,
``send_text``, ``data_to_send``), with the same zlib settings, level 6 and
memLevel 5 ("w12 m5" in the row's name: 12 window bits): both write the same
bytes, which the row checks, decoding them with a websockets client. Each send
run starts from a fresh connection, made outside the timing. zlib takes about
95 % of the send row's time, the same in both.

The last row is the server's opening handshake: each library reads the same
browser-like request into a fresh server object and writes its 101, through its
public sans-IO API (ours: ``ServerConnection()``, ``receive_data``, ``accept()``
from the ``events()`` loop, ``data_to_send``; websockets: ``ServerProtocol``;
wsproto: ``H11Handshake``). All three parse the request as HTTP/1.1 (h11 for us
and wsproto, websockets its own parser) and check it; nothing is reused between
connections. aiohttp's handshake lives in its web server and is not timed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
import timeit
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import aiohttp._websocket.reader as aiohttp_reader
import websockets.extensions.permessage_deflate
import websockets.frames
import websockets.protocol
import websockets.server
import websockets.speedups
import wsproto.frame_protocol
import wsproto.handshake

from wsproto_core import ServerConnection
from wsproto_core.codec.rfc6455 import Rfc6455Codec
from wsproto_core.events import BytesMessage, Event, TextMessage
from wsproto_core.extensions import PerMessageDeflate, ServerPerMessageDeflateFactory
from wsproto_core.frames import Opcode, serialize_frame

Parse = Callable[[Sequence[bytes]], list[bytes]]
"""Feeds the reads in order to a fresh parser; returns each message's payload as bytes."""


# -- the inputs ------------------------------------------------------------------------


def masked(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    return serialize_frame(opcode, payload, fin=fin, mask_key=os.urandom(4))


def split(data: bytes, size: int) -> list[bytes]:
    return [data[index : index + size] for index in range(0, len(data), size)]


def cases() -> dict[str, tuple[list[bytes], int]]:
    """Each case: the reads, and how many times one timing runs it."""
    small = b"".join(masked(Opcode.TEXT, b"0123456789abcdef") for _ in range(1000))
    big = masked(Opcode.BINARY, os.urandom(2**20))
    text = "wsproto_core\u00e9\u20ac!" * 3641
    encoded = text.encode()[: 2**16]
    encoded = encoded[: len(encoded.decode("utf-8", "ignore").encode())]
    fragments = split(encoded, len(encoded) // 16 + 1)
    fragmented = b"".join(
        masked(Opcode.CONTINUATION if index else Opcode.TEXT, piece, index == len(fragments) - 1)
        for index, piece in enumerate(fragments)
    )
    # A message in one-byte fragments (issue 10), code points split between them.
    tiny = ("aé€" * 2731).encode()[: 2**14]
    tiny = tiny[: len(tiny.decode("utf-8", "ignore").encode())]
    one_byte = b"".join(
        masked(
            Opcode.CONTINUATION if index else Opcode.TEXT,
            tiny[index : index + 1],
            index == len(tiny) - 1,
        )
        for index in range(len(tiny))
    )
    return {
        "1000 x 16 B masked text, one read": ([small], 20),
        "1000 x 16 B masked text, 4 KiB reads": (split(small, 4096), 20),
        "1 MiB masked binary, one read": ([big], 5),
        "1 MiB masked binary, 64 KiB reads": (split(big, 65536), 5),
        "64 KiB text in 16 masked frames, one read": ([fragmented], 50),
        "16 KiB text in 1-byte frames, 64 KiB reads": (split(one_byte, 65536), 2),
    }


# -- the parsers -----------------------------------------------------------------------


def ours(reads: Sequence[bytes]) -> list[bytes]:
    codec = Rfc6455Codec(client=False, max_message_size=None)
    events: list[Event] = []
    for data in reads:
        codec.receive(data, events)
    return [
        event.data.encode() if type(event) is TextMessage else event.data  # type: ignore[attr-defined]
        for event in events
        if type(event) is TextMessage or type(event) is BytesMessage
    ]


def with_websockets(reads: Sequence[bytes]) -> list[bytes]:
    protocol = websockets.protocol.Protocol(websockets.protocol.SERVER, max_size=None)
    frames = []
    for data in reads:
        protocol.receive_data(data)
        frames.extend(protocol.events_received())
    # Join fragments as its I/O layer would, to check the output (not timed separately).
    messages: list[bytes] = []
    parts: list[bytes] = []
    for frame in frames:
        parts.append(frame.data)
        if frame.fin:
            messages.append(b"".join(parts))
            parts = []
    return messages


def with_wsproto(reads: Sequence[bytes]) -> list[bytes]:
    protocol = wsproto.frame_protocol.FrameProtocol(client=False, extensions=[])
    messages: list[bytes] = []
    parts: list[bytes] = []
    for data in reads:
        protocol.receive_bytes(data)
        for frame in protocol.received_frames():
            payload = frame.payload
            parts.append(payload.encode() if isinstance(payload, str) else bytes(payload))
            if frame.message_finished:
                messages.append(b"".join(parts))
                parts = []
    return messages


class _Transport:
    _reading_paused = False

    def pause_reading(self) -> None:
        self._reading_paused = True


_loop = asyncio.new_event_loop()


def with_aiohttp(reads: Sequence[bytes]) -> list[bytes]:
    queue = aiohttp_reader.WebSocketDataQueue(_Transport(), 2**30, loop=_loop)  # type: ignore[arg-type]
    reader = aiohttp_reader.WebSocketReader(queue, 0, compress=False, decode_text=True)
    for data in reads:
        reader.feed_data(data)
    messages: list[bytes] = []
    while queue._buffer:
        message, _ = queue._buffer.popleft()
        payload = message.data
        messages.append(payload.encode() if isinstance(payload, str) else bytes(payload))
    return messages


PEERS: dict[str, Parse] = {
    "websockets": with_websockets,
    "wsproto": with_wsproto,
    "aiohttp": with_aiohttp,
}


# -- compressed messages (permessage-deflate, RFC 7692) --------------------------------

COMPRESSED_MESSAGES = 1000
"""How many 1 KiB JSON-like text messages the compressed case sends."""


def json_messages() -> list[str]:
    """The 1000 JSON-like texts of the compressed cases, 1024 ASCII bytes each."""
    messages = []
    for index in range(COMPRESSED_MESSAGES):
        body = ", ".join(f'"k{key}": {index * key % 997}' for key in range(80))
        messages.append(("{" + body + "}")[:1024])
    return messages


def compressed_reads() -> list[bytes]:
    """1000 JSON-like text messages of about 1 KiB, compressed with context takeover.

    One raw deflate stream, sync-flushed after each message with the
    ``00 00 ff ff`` tail removed (RFC 7692 §7.2.1), each in a masked frame with
    RSV1; read in 64 KiB chunks, as a server would.
    """
    compressor = zlib.compressobj(wbits=-12, memLevel=5)
    frames = []
    for message in json_messages():
        data = compressor.compress(message.encode()) + compressor.flush(zlib.Z_SYNC_FLUSH)
        frames.append(serialize_frame(Opcode.TEXT, data[:-4], rsv=0x40, mask_key=os.urandom(4)))
    return split(b"".join(frames), 65536)


def compressed_ours(reads: Sequence[bytes]) -> list[bytes]:
    deflate = PerMessageDeflate(remote_max_window_bits=12, local_max_window_bits=12)
    codec = Rfc6455Codec(client=False, max_message_size=None, extensions=[deflate])
    events: list[Event] = []
    texts: list[bytes] = []
    # The events are taken after each read, as an application does (websockets' too): the
    # codec inflates at most DECODE_BUDGET before they are, and goes on when asked.
    for data in reads:
        codec.receive(data, events)
        while True:
            texts += [event.data.encode() for event in events if isinstance(event, TextMessage)]
            events.clear()
            if not codec.pending:
                break
            codec.receive(b"", events)
    return texts


def compressed_websockets(reads: Sequence[bytes]) -> list[bytes]:
    deflate = websockets.extensions.permessage_deflate.PerMessageDeflate(
        remote_no_context_takeover=False,
        local_no_context_takeover=False,
        remote_max_window_bits=12,
        local_max_window_bits=12,
    )
    protocol = websockets.protocol.Protocol(websockets.protocol.SERVER, max_size=None)
    protocol.extensions = [deflate]
    frames = []
    for data in reads:
        protocol.receive_data(data)
        frames.extend(protocol.events_received())
    return [bytes(frame.data) for frame in frames if isinstance(frame, websockets.frames.Frame)]


def compressed_row(repeat: int) -> str:
    """One line: the compressed case, ours against websockets with permessage-deflate.

    Both inflate with context takeover; ours also decodes and checks the UTF-8,
    which websockets leaves to its I/O layer.
    """
    reads = compressed_reads()
    expected = compressed_ours(reads)
    assert len(expected) == COMPRESSED_MESSAGES
    assert compressed_websockets(reads) == expected, "websockets disagrees"
    times = measure(
        {"ours": compressed_ours, "websockets": compressed_websockets}, reads, 5, repeat
    )
    name = "1000 x 1 KiB JSON text, permessage-deflate"
    row = f"{name:44s} {times['ours'] * 1e6:8.0f}us"
    return row + f" {times['websockets'] * 1e6:8.0f}us {times['websockets'] / times['ours']:5.2f}x"


# -- the server's opening handshake --------------------------------------------------

HANDSHAKE_REQUEST = (
    b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\nOrigin: http://example.com\r\nUser-Agent: bench\r\n\r\n"
)
"""A browser-like RFC 6455 request; each library reads it and writes its 101."""


def handshake_ours() -> bytes:
    conn = ServerConnection()
    conn.receive_data(HANDSHAKE_REQUEST)
    for _ in conn.events():
        conn.accept()
    return conn.data_to_send()


def handshake_websockets() -> bytes:
    protocol = websockets.server.ServerProtocol()
    protocol.receive_data(HANDSHAKE_REQUEST)
    [request] = protocol.events_received()
    protocol.send_response(protocol.accept(request))
    return b"".join(protocol.data_to_send())


def handshake_wsproto() -> bytes:
    handshake = wsproto.handshake.H11Handshake(wsproto.ConnectionType.SERVER)
    handshake.receive_data(HANDSHAKE_REQUEST)
    [_request] = handshake.events()
    return handshake.send(wsproto.events.AcceptConnection())


HANDSHAKES: dict[str, Callable[[], bytes]] = {
    "ours": handshake_ours,
    "websockets": handshake_websockets,
    "wsproto": handshake_wsproto,
}


def handshake_row(repeat: int) -> str:
    """One line: handshakes per second for each library, and the ratios to ours."""
    for name, shake in HANDSHAKES.items():
        assert b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in shake(), f"{name} wrote no 101"
    timers = {
        name: timeit.Timer(shake, timer=time.process_time) for name, shake in HANDSHAKES.items()
    }
    best = dict.fromkeys(HANDSHAKES, float("inf"))
    for _ in range(repeat):
        for name, timer in timers.items():
            best[name] = min(best[name], timer.timeit(500) / 500)
    row = f"{'server handshake (per second; ratio is time)':44s} {1 / best['ours']:8.0f}/s"
    for peer in PEERS:
        if peer in best:
            row += f" {1 / best[peer]:8.0f}/s {best[peer] / best['ours']:5.2f}x"
    return row


# -- sending compressed messages (permessage-deflate, RFC 7692) -----------------------

# The send side: the server compresses with a 4 KiB window (12 bits), memLevel 5 and
# zlib's default level (6), context takeover: our ServerPerMessageDeflateFactory's
# defaults, and websockets' (its factory's memLevel is 5 too). Same settings, same
# zlib: the two write the same bytes, which the row checks.
DEFLATE_REQUEST = HANDSHAKE_REQUEST.replace(
    b"\r\n\r\n",
    b"\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
)


def open_ours() -> ServerConnection:
    """A server connection that agreed permessage-deflate with the factory's defaults."""
    conn = ServerConnection(extensions=[ServerPerMessageDeflateFactory()])
    conn.receive_data(DEFLATE_REQUEST)
    for _ in conn.events():
        conn.accept()
    assert b"server_max_window_bits=12" in conn.data_to_send()
    return conn


def open_websockets() -> websockets.protocol.Protocol:
    """websockets' sans-IO server, open, with the same compressor settings."""
    deflate = websockets.extensions.permessage_deflate.PerMessageDeflate(
        remote_no_context_takeover=False,
        local_no_context_takeover=False,
        remote_max_window_bits=12,
        local_max_window_bits=12,
        compress_settings={"memLevel": 5},
    )
    protocol = websockets.protocol.Protocol(websockets.protocol.SERVER, max_size=None)
    protocol.extensions = [deflate]
    return protocol


def send_ours(conn: ServerConnection, texts: Sequence[str]) -> list[bytes]:
    """Send each text as an adapter does: ``send_text``, then ``data_to_send``."""
    writes = []
    for text in texts:
        conn.send_text(text)
        writes.append(conn.data_to_send())
    return writes


def send_websockets(protocol: websockets.protocol.Protocol, texts: Sequence[str]) -> list[bytes]:
    """Send each text as websockets' I/O layer does: encode, ``send_text``, ``data_to_send``."""
    writes = []
    for text in texts:
        protocol.send_text(text.encode())
        writes.extend(protocol.data_to_send())
    return writes


def received_by_a_client(writes: Sequence[bytes]) -> list[str]:
    """The messages a websockets client reads from ``writes`` (checks the send side)."""
    deflate = websockets.extensions.permessage_deflate.PerMessageDeflate(False, False, 12, 12)
    protocol = websockets.protocol.Protocol(websockets.protocol.CLIENT, max_size=None)
    protocol.extensions = [deflate]
    protocol.receive_data(b"".join(writes))
    frames = protocol.events_received()
    return [
        bytes(frame.data).decode() for frame in frames if isinstance(frame, websockets.frames.Frame)
    ]


def send_row(repeat: int) -> str:
    """One line: the server sending compressed messages, ours against websockets.

    Each run starts from a fresh open connection (made outside the timing), so
    both compress the same stream from the same empty window.
    """
    texts = json_messages()
    ours_writes = send_ours(open_ours(), texts)
    assert all(write[0] == 0xC1 for write in ours_writes), "not one compressed frame each"
    assert received_by_a_client(ours_writes) == texts, "our frames do not decode"
    assert send_websockets(open_websockets(), texts) == ours_writes, "different bytes"
    senders: dict[str, tuple[Callable[[], Any], Callable[[Any, Sequence[str]], list[bytes]]]] = {
        "ours": (open_ours, send_ours),
        "websockets": (open_websockets, send_websockets),
    }
    best = dict.fromkeys(senders, float("inf"))
    for _ in range(repeat):
        for name, (make, send) in senders.items():
            connections = [make() for _ in range(5)]
            gc.disable()
            start = time.process_time()
            for conn in connections:
                send(conn, texts)
            elapsed = time.process_time() - start
            gc.enable()
            best[name] = min(best[name], elapsed / len(connections))
    name = "send 1000 x 1 KiB JSON text, deflate w12 m5"
    row = f"{name:44s} {best['ours'] * 1e6:8.0f}us"
    return row + f" {best['websockets'] * 1e6:8.0f}us {best['websockets'] / best['ours']:5.2f}x"


def measure(
    parsers: dict[str, Parse], reads: Sequence[bytes], number: int, repeat: int
) -> dict[str, float]:
    """Best time per run of each parser, in seconds.

    The parsers take turns within each repeat, so that a busy machine slows them
    alike, and the timer is the process's CPU time, which does not count the
    time other processes hold the CPU.
    """
    timers = {
        name: timeit.Timer(lambda parse=parse: parse(reads), timer=time.process_time)
        for name, parse in parsers.items()
    }
    best = dict.fromkeys(parsers, float("inf"))
    for _ in range(repeat):
        for name, timer in timers.items():
            best[name] = min(best[name], timer.timeit(number) / number)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 9")
    parser.add_argument("-k", default="", help="only the cases whose name contains this")
    arguments = parser.parse_args()
    repeat = 3 if arguments.quick else 9
    speedups = websockets.frames.apply_mask is websockets.speedups.apply_mask
    print(f"Python {sys.version.split()[0]}; websockets C speedups loaded: {speedups}")
    if not speedups:
        print("WARNING: websockets falls back to its pure-Python masking")
    print(f"aiohttp reader: {aiohttp_reader.WebSocketReader.__module__}")
    print(f"best of {repeat} repeats\n")
    header = f"{'case':44s} {'ours':>10s}" + "".join(f" {name:>18s}" for name in PEERS)
    print(header)
    print("-" * len(header))
    for name, (reads, number) in cases().items():
        if arguments.k not in name:
            continue
        expected = ours(reads)
        for peer, parse in PEERS.items():
            assert parse(reads) == expected, f"{peer} disagrees on {name}"
        times = measure({"ours": ours, **PEERS}, reads, number, repeat)
        ours_time = times["ours"]
        row = f"{name:44s} {ours_time * 1e6:8.0f}us"
        for peer in PEERS:
            row += f" {times[peer] * 1e6:8.0f}us {times[peer] / ours_time:5.2f}x"
        print(row)
    if arguments.k in "1000 x 1 KiB JSON text, permessage-deflate":
        print(compressed_row(repeat))
    if arguments.k in "send 1000 x 1 KiB JSON text, deflate w12 m5":
        print(send_row(repeat))
    if arguments.k in "server handshake":
        print(handshake_row(repeat))


if __name__ == "__main__":
    main()
