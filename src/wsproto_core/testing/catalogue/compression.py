"""Families 12 and 13, permessage-deflate (RFC 7692): payloads, then parameter agreements.

Autobahn's family 12 echoes messages cut from five test files (12.1 to 12.5)
under its default offer; family 13 echoes the first of them (a JSON file) under
seven parameter agreements (13.1 to 13.7). Each sub-family has the same 18
cases (:data:`MESSAGE_SIZES`): messages of 16 bytes to 128 KiB, some of them
sent in fragments. A case sends its messages one at a time, each once the echo
of the one before came back, each cut from the file where the one before ended
(the file read as a ring), and compares every echo with what it sent.

The files themselves (Goethe's Faust, the Lena picture, a PDF paper, JSON and
HTML dumps) are not shipped: each is stood in for by data of the same kind and
size generated from a fixed seed (:data:`CORPORA`), so a case sends the same
bytes every time. Text stand-ins are ASCII, so any slice is UTF-8.

Scaled as family 9 is (:func:`message_count`): Autobahn sends 1000 messages a
case; these send 1000 times :attr:`~.CatalogueOptions.scale` of them up to
4 KiB, and beyond as many as make the same number of bytes (1000 * scale *
4 KiB), never fewer than :data:`MIN_MESSAGES`: 16, 8, 4, then 3 a case at the
default scale. Three keep what matters, the compression context carried from
one message into the next and the next, at a fifth of the time 16 messages of
128 KiB would take (compressing dominates, above all the incompressible 12.5).

Autobahn's fragment size cuts the compressed message; the peer here cuts the
message before compressing it (:class:`~..cases.SendMessage`), which gives
fragments of a compressed message all the same (RSV1 on the first only).

A testee that does not agree to permessage-deflate is UNIMPLEMENTED.
"""

from __future__ import annotations

import functools
import json
import math
import random
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..cases import (
    NORMAL_CLOSE,
    Case,
    Deflate,
    SendMessage,
    Step,
    WaitFor,
    received_binary,
    received_text,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from . import CatalogueOptions

__all__ = [
    "AGREEMENTS",
    "CORPORA",
    "MESSAGE_SIZES",
    "MIN_MESSAGES",
    "Agreement",
    "Corpus",
    "cases",
    "message_count",
    "messages",
]

MESSAGE_SIZES: tuple[tuple[int, int], ...] = (
    *((size, 0) for size in (16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072)),
    *((size, 256) for size in (8192, 16384, 32768, 65536, 131072)),
    (131072, 1024),
    (131072, 4096),
    (131072, 32768),
)
"""Autobahn's (message size, fragment size) of cases ``x.y.1`` to ``x.y.18`` (0: one frame)."""

_AUTOBAHN_COUNT = 1000
_FULL_COUNT_UP_TO = 4096
MIN_MESSAGES = 3
"""The fewest messages a case sends, whatever the scale."""


def message_count(size: int, scale: float) -> int:
    """How many messages of ``size`` bytes a case sends at ``scale`` (Autobahn: 1000)."""
    count = _AUTOBAHN_COUNT * scale * min(1.0, _FULL_COUNT_UP_TO / size)
    return max(MIN_MESSAGES, round(count))


# -- the payloads ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Corpus:
    """A stand-in for one of Autobahn's test files.

    Attributes:
        family: The 12.x sub-family that uses it.
        description: Autobahn's description of the file it stands in for.
        size: That file's size, which the stand-in has too.
        binary: Sent as binary messages, else as text.
    """

    family: str
    description: str
    size: int
    binary: bool

    @property
    def data(self) -> bytes:
        """The payload (made once per process, from a fixed seed)."""
        return _generate(self)


CORPORA: tuple[Corpus, ...] = (
    Corpus("12.1", "Large JSON data file", 194056, binary=False),
    Corpus("12.2", "Lena Picture, Bitmap 512x512 bw", 263222, binary=True),
    Corpus("12.3", "Human readable text, Goethe's Faust I (German)", 222218, binary=True),
    Corpus("12.4", "Large HTML file", 263527, binary=False),
    Corpus("12.5", "A larger PDF", 1042328, binary=True),
)
"""Autobahn's five files, in its order; the first is also family 13's."""

_SYLLABLES = ("ka", "lo", "mi", "ren", "tas", "vo", "quin", "bel", "dor", "sa", "ne", "ith")
_WORDS = (
    "Nacht", "Geist", "Herz", "Welt", "Mädchen", "Blüte", "Träume", "schön", "Größe", "über",
    "wärmt", "Himmel", "Erde", "Licht", "Schatten", "Seele", "ewig", "fühlt", "müde", "Stunde",
    "Tür", "Glück", "Zweifel", "Wissen", "strebt", "irrt", "Mensch", "lang", "süß", "Flügel",
    "hören", "Lüfte", "Flamme", "der", "die", "das", "und", "ich", "nicht", "mit", "zu", "ein",
)  # fmt: skip


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


def _words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(low, high)))


def _record(rng: random.Random, number: int) -> dict[str, object]:
    first, last = _name(rng), _name(rng)
    return {
        "id": number,
        "guid": f"{rng.getrandbits(128):032x}",
        "isActive": rng.random() < 0.5,
        "balance": f"${rng.randint(1000, 99999) / 100:,.2f}",
        "age": rng.randint(18, 90),
        "name": f"{first} {last}",
        "email": f"{first.lower()}.{last.lower()}@example.com",
        "about": _words(rng, 8, 30),
        "latitude": round(rng.uniform(-90, 90), 6),
        "longitude": round(rng.uniform(-180, 180), 6),
        "tags": [_name(rng).lower() for _ in range(rng.randint(1, 6))],
        "friends": [{"id": i, "name": _name(rng)} for i in range(rng.randint(0, 3))],
    }


def _json(rng: random.Random, size: int) -> bytes:
    """An indented JSON array of records, as API dumps are; ASCII (``ä`` as ``\\u00e4``)."""
    records: list[object] = []
    length = 0
    while length < size:
        record = _record(rng, len(records))
        records.append(record)
        length += len(json.dumps(record, indent=2)) + 4
    return json.dumps(records, indent=2)[:size].encode("ascii")


def _bitmap(rng: random.Random, size: int) -> bytes:
    """A 512x512 8-bit grayscale BMP of smooth shading with some noise."""
    side = 512
    header = b"BM" + struct.pack("<IHHI", size, 0, 0, 14 + 40 + 1024)
    info = struct.pack("<IiiHHIIiiII", 40, side, side, 1, 8, 0, side * side, 2835, 2835, 256, 256)
    palette = b"".join(bytes((v, v, v, 0)) for v in range(256))
    across = [int(50 * math.sin(x / 23) + 20 * math.sin(x / 5.3)) - 8 for x in range(side)]
    noise = rng.randbytes(side * side)
    rows = []
    for y in range(side):
        base = int(60 * math.cos(y / 31)) + 128
        row = noise[y * side : (y + 1) * side]
        rows.append(
            bytes(min(255, max(0, base + a + (n & 15))) for a, n in zip(across, row, strict=True))
        )
    return header + info + palette + b"".join(rows)


def _verse(rng: random.Random, size: int) -> bytes:
    """German verse in UTF-8, speakers' names between; may end inside a character (binary)."""
    speakers = ("DER WANDRER.", "DIE STIMME.", "CHOR.", "DER ALTE.")
    lines: list[str] = []
    length = 0
    while length < size:
        if rng.random() < 0.1:
            line = "\n" + rng.choice(speakers)
        else:
            line = _words(rng, 4, 9).capitalize() + rng.choice((",", ".", "!", "?", ";", ""))
        lines.append(line)
        length += len(line.encode()) + 1
    return "\n".join(lines).encode()[:size]


_ENTITIES = {"ä": "&auml;", "ö": "&ouml;", "ü": "&uuml;", "ß": "&szlig;", "Ä": "&Auml;"}


def _html_item(rng: random.Random, number: int) -> str:
    words = _words(rng, 10, 40)
    for char, entity in _ENTITIES.items():
        words = words.replace(char, entity)
    words = words.replace("Ü", "&Uuml;")
    links = "".join(
        f'  <li><a href="/item/{rng.randint(0, 9999)}">{_name(rng)}</a></li>\n'
        for _ in range(rng.randint(1, 5))
    )
    cells = "".join(f"<td>{rng.randint(0, 10**6)}</td>" for _ in range(rng.randint(2, 6)))
    return (
        f'<div class="item" id="item-{number}">\n<h2>{_name(rng)} {_name(rng)}</h2>\n'
        f"<p>{words}</p>\n<ul>\n{links}</ul>\n<table><tr>{cells}</tr></table>\n</div>\n"
    )


def _html(rng: random.Random, size: int) -> bytes:
    """An HTML page of many similar items; ASCII (entities for the umlauts)."""
    parts = [
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>Index</title>\n'
        "<style>.item { margin: 0 1em; } td { padding: 2px; }</style>\n</head>\n<body>\n"
    ]
    length = len(parts[0])
    while length < size:
        parts.append(_html_item(rng, len(parts)))
        length += len(parts[-1])
    return "".join(parts)[:size].encode("ascii")


def _pdf_object(rng: random.Random, number: int) -> bytes:
    if number % 5 == 0:
        body = "".join(
            f"BT /F1 {rng.randint(8, 14)} Tf {rng.randint(50, 500)} {rng.randint(50, 750)} Td "
            f"({_words(rng, 6, 6)}) Tj ET\n"
            for _ in range(rng.randint(20, 60))
        ).encode()
        return b"%d 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (
            number,
            len(body),
            body,
        )
    if number % 5 == 1:
        return (
            b"%d 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Contents %d 0 R /Resources << /Font << /F1 4 0 R >> >> >>\nendobj\n"
            % (number, number + 4)
        )
    stream = rng.randbytes(rng.randint(2000, 30000))
    return b"%d 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream\nendobj\n" % (
        number,
        len(stream),
        stream,
    )


def _pdf(rng: random.Random, size: int) -> bytes:
    """Mostly already-compressed streams (incompressible), some page and text objects."""
    parts = [b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"]
    length = len(parts[0])
    while length < size:
        parts.append(_pdf_object(rng, len(parts)))
        length += len(parts[-1])
    return b"".join(parts)[:size]


_MAKERS = {"12.1": _json, "12.2": _bitmap, "12.3": _verse, "12.4": _html, "12.5": _pdf}


@functools.cache
def _generate(corpus: Corpus) -> bytes:
    data = _MAKERS[corpus.family](random.Random(f"autobahn {corpus.family}"), corpus.size)
    if len(data) != corpus.size:
        raise AssertionError(f"the {corpus.family} stand-in has {len(data)} bytes")
    return data


@functools.cache
def messages(corpus: Corpus, size: int, count: int) -> tuple[bytes, ...]:
    """``count`` messages of ``size`` bytes cut one after the other from ``corpus``, a ring.

    As Autobahn does: each message starts where the one before ended. Cached:
    the cases of one size share their messages, and family 13 shares 12.1's.
    """
    data = corpus.data
    cut: list[bytes] = []
    start = 0
    for _ in range(count):
        end = start + size
        cut.append(data[start:end] if end <= len(data) else data[start:] + data[: end - len(data)])
        start = end % len(data)
    return tuple(cut)


# -- the parameter agreements ---------------------------------------------------------------------


@dataclass(frozen=True)
class Agreement:
    """One of family 13's parameter sets.

    Autobahn asks the testee for (no context takeover, window bits): its client
    offers ``server_no_context_takeover`` and ``server_max_window_bits`` to a
    testee server, its server answers ``client_no_context_takeover`` and
    ``client_max_window_bits`` to a testee client. :attr:`deflate` asks both,
    and the peer holds its own compressor to the same, which any testee must
    read anyway.

    Attributes:
        asked: Autobahn's list of (requestNoContextTakeover, requestMaxWindowBits),
            in order of preference (0: no window asked).
    """

    asked: tuple[tuple[bool, int], ...]

    @property
    def deflate(self) -> Deflate:
        """The agreement, the later choices as fallbacks."""
        first, *rest = (_terms(nct, bits) for nct, bits in self.asked)
        return Deflate(
            server_no_context_takeover=first.server_no_context_takeover,
            client_no_context_takeover=first.client_no_context_takeover,
            server_max_window_bits=first.server_max_window_bits,
            client_max_window_bits=first.client_max_window_bits,
            fallback=tuple(rest),
        )

    def describe(self) -> str:
        """Autobahn's words: ``client offers (...): [(True, 8)] / server accept (...): [...]``."""
        pairs = "[" + ", ".join(f"({nct}, {bits})" for nct, bits in self.asked) + "]"
        return (
            f"client offers (requestNoContextTakeover, requestMaxWindowBits): {pairs} / "
            f"server accept (requestNoContextTakeover, requestMaxWindowBits): {pairs}"
        )


def _terms(no_context_takeover: bool, bits: int) -> Deflate:
    return Deflate(
        server_no_context_takeover=no_context_takeover,
        client_no_context_takeover=no_context_takeover,
        server_max_window_bits=bits or None,
        client_max_window_bits=bits or None,
    )


AGREEMENTS: tuple[Agreement, ...] = (
    Agreement(((False, 0),)),
    Agreement(((True, 0),)),
    Agreement(((False, 8),)),
    Agreement(((False, 15),)),
    Agreement(((True, 8),)),
    Agreement(((True, 15),)),
    Agreement(((True, 8), (True, 0), (False, 0))),
)
"""13.1 to 13.7."""


# -- the cases ------------------------------------------------------------------------------------


def _echoes(sent: tuple[bytes, ...], binary: bool, fragment_size: int) -> tuple[Step, ...]:
    steps: list[Step] = []
    for number, data in enumerate(sent, 1):
        steps += [SendMessage(data, binary=binary, fragment_size=fragment_size or None)]
        steps += [WaitFor(number)]
    return tuple(steps)


def _case(
    case_id: str, corpus: Corpus, number: int, scale: float, deflate: Deflate, offer: str
) -> Case:
    size, fragment_size = MESSAGE_SIZES[number - 1]
    count = message_count(size, scale)
    sent = messages(corpus, size, count)
    kind = "binary" if corpus.binary else "text"
    echo = received_binary if corpus.binary else received_text
    fragments = f"auto-fragment to {fragment_size} octets"
    return Case(
        id=case_id,
        description=f"Send {count} compressed messages each of payload size {size}, "
        f"{fragments}. Use {offer}. ({corpus.description}, {kind}; Autobahn sends "
        f"{_AUTOBAHN_COUNT} messages.)",
        expectation="Receive echo'ed messages (with payload as sent).",
        steps=_echoes(sent, corpus.binary, fragment_size),
        ok=tuple(echo(data) for data in sent),
        close=NORMAL_CLOSE,
        deflate=deflate,
    )


def cases(options: CatalogueOptions) -> Iterator[Case]:
    """12.1.1 to 12.5.18 under the default offer, then 13.1.1 to 13.7.18."""
    default = Deflate()
    for corpus in CORPORA:
        for number in range(1, len(MESSAGE_SIZES) + 1):
            case_id = f"{corpus.family}.{number}"
            offer = "default permessage-deflate offer"
            yield _case(case_id, corpus, number, options.scale, default, offer)
    for family, agreement in enumerate(AGREEMENTS, 1):
        offer = f"permessage-deflate {agreement.describe()}"
        for number in range(1, len(MESSAGE_SIZES) + 1):
            case_id = f"13.{family}.{number}"
            yield _case(case_id, CORPORA[0], number, options.scale, agreement.deflate, offer)
