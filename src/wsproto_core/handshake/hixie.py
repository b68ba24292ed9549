"""The draft-hixie-76 key challenge, both sides.

The client hides a number in each of ``Sec-WebSocket-Key1`` and ``Key2``
(digits scattered among junk characters, divided by the count of spaces) and
sends 8 more random bytes, key3, after the request headers. The server answers
with the MD5 of the two numbers and key3, 16 raw bytes after its response
headers (draft-hixie-76 §4.1 and §5.2). draft-hixie-75 has no challenge.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "ANSWER_SIZE",
    "KEY3_SIZE",
    "HixieKey",
    "HixieKeyError",
    "challenge_answer",
    "generate_key",
    "key_part",
]

KEY3_SIZE = 8
"""The length of key3, the raw bytes after the request headers."""

ANSWER_SIZE = 16
"""The length of the server's answer, the raw bytes after the response headers."""

_MAX_KEY_NUMBER = 4294967295
_DIGITS = frozenset("0123456789")
# draft-hixie-76 §4.1 step 18: "random characters from the ranges U+0021 to
# U+002F and U+003A to U+007E" (printable ASCII without digits and space).
_JUNK = "".join(chr(c) for c in (*range(0x21, 0x30), *range(0x3A, 0x7F)))


class HixieKeyError(ValueError):
    """A ``Sec-WebSocket-Key1`` or ``Key2`` value breaks a rule of draft-hixie-76 §5.2."""


@dataclass(frozen=True, slots=True)
class HixieKey:
    """A client's generated key: the header value and the number it hides.

    Attributes:
        value: The ``Sec-WebSocket-KeyN`` header value.
        part: The number the server will recover (key-number / spaces).
    """

    value: str
    part: int


def key_part(value: str) -> int:
    """Recover the number hidden in a ``Sec-WebSocket-KeyN`` value (draft-hixie-76 §5.2).

    key-number is the value's digits read in order as a decimal number (every
    other character ignored); spaces is the count of U+0020. The part is
    key-number / spaces.

    Raises:
        HixieKeyError: The value has no digits, key-number is over 4294967295,
            there are no spaces, or key-number is not a multiple of spaces.
    """
    digits = "".join(c for c in value if c in _DIGITS)
    if not digits:
        raise HixieKeyError("the key has no digits")
    # Compare lengths first: int() of a long digit string is slow (and limited).
    significant = digits.lstrip("0")
    if len(significant) > len(str(_MAX_KEY_NUMBER)) or int(digits) > _MAX_KEY_NUMBER:
        raise HixieKeyError("the key number is greater than 4294967295")
    number = int(digits)
    spaces = value.count(" ")
    if spaces == 0:
        raise HixieKeyError("the key has no spaces")
    if number % spaces:
        raise HixieKeyError("the key number is not an integral multiple of the spaces")
    return number // spaces


def challenge_answer(part1: int, part2: int, key3: bytes) -> bytes:
    """Return the server's 16-byte answer: MD5 of both parts (big-endian 32-bit) and key3."""
    return hashlib.md5(struct.pack(">II", part1, part2) + key3, usedforsecurity=False).digest()


def _randbelow(n: int, random_bytes: Callable[[int], bytes]) -> int:
    """Return an integer in ``[0, n)`` drawn from ``random_bytes``.

    Eight bytes more than ``n`` needs make the modulo bias negligible, and the
    draw takes one call whatever the source returns (no rejection loop).
    """
    size = (n.bit_length() + 7) // 8 + 8
    return int.from_bytes(random_bytes(size), "big") % n


def generate_key(random_bytes: Callable[[int], bytes]) -> HixieKey:
    """Generate one ``Sec-WebSocket-KeyN`` value as draft-hixie-76 §4.1 steps 16-20 describe."""
    spaces = _randbelow(12, random_bytes) + 1
    number = _randbelow(_MAX_KEY_NUMBER // spaces + 1, random_bytes)
    chars = list(str(number * spaces))
    for _ in range(_randbelow(12, random_bytes) + 1):
        junk = _JUNK[_randbelow(len(_JUNK), random_bytes)]
        chars.insert(_randbelow(len(chars) + 1, random_bytes), junk)
    # Spaces go anywhere but first or last: insert before an index in [1, len - 1].
    for _ in range(spaces):
        chars.insert(_randbelow(len(chars) - 1, random_bytes) + 1, " ")
    return HixieKey("".join(chars), number)
