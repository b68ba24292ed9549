"""The key exchanges: RFC 6455 Sec-WebSocket-Accept and the draft-hixie-76 challenge."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsproto_core.handshake import hixie, rfc6455

if TYPE_CHECKING:
    from collections.abc import Callable


def test_accept_key_of_the_rfc_6455_example() -> None:
    # RFC 6455 §1.3.
    assert rfc6455.accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_generated_key_is_base64_of_the_16_random_bytes() -> None:
    key = rfc6455.generate_key(lambda n: bytes(range(n)))
    assert base64.b64decode(key) == bytes(range(16))


@pytest.mark.parametrize("key", ["dGhlIHNhbXBsZSBub25jZQ==", "AAAAAAAAAAAAAAAAAAAAAA=="])
def test_key_of_16_bytes_is_valid(key: str) -> None:
    assert rfc6455.is_valid_key(key)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "AAAAAAAAAAAAAAAAAAAA",  # 15 bytes
        "AAAAAAAAAAAAAAAAAAAAAAA=",  # 17 bytes
        "AAAAAAAAAAAAAAAAAAAAAA",  # no padding
        "AAAAAAAAAAAAAAAAAAAA*A==",  # not in the alphabet
        "AAAAAAAAAAAAAAAAAAAAAA==\u00e9",  # not ASCII
    ],
)
def test_key_not_base64_of_16_bytes_is_invalid(key: str) -> None:
    assert not rfc6455.is_valid_key(key)


def test_hixie76_key_parts_of_the_spec_example() -> None:
    assert hixie.key_part("4 @1  46546xW%0l 1 5") == 4146546015 // 5
    assert hixie.key_part("12998 5 Y3 1  .P00") == 1299853100 // 5


def test_hixie76_answer_of_the_spec_example() -> None:
    part1 = hixie.key_part("4 @1  46546xW%0l 1 5")
    part2 = hixie.key_part("12998 5 Y3 1  .P00")
    assert hixie.challenge_answer(part1, part2, b"^n:ds[4U") == b"8jKS'y:G*Co,Wxa-"


def test_hixie76_key_ignores_non_ascii_digits() -> None:
    assert hixie.key_part("1 \u0662 2") == 12 // 2


def test_hixie76_key_number_of_leading_zeros_is_not_too_large() -> None:
    assert hixie.key_part("0000000000004 ") == 4


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("abc def", "no digits"),
        ("4294967296 ", "greater than 4294967295"),
        ("99999999999999999999 ", "greater than 4294967295"),
        ("1" * 5000 + " ", "greater than 4294967295"),
        ("12345", "no spaces"),
        ("7  ", "not an integral multiple"),
    ],
)
def test_hixie76_invalid_key_is_refused_with_the_rule(value: str, rule: str) -> None:
    with pytest.raises(hixie.HixieKeyError, match=rule):
        hixie.key_part(value)


def test_hixie76_largest_key_number_is_valid() -> None:
    assert hixie.key_part("4294967295 ") == 4294967295


def _stream(seed: bytes) -> Callable[[int], bytes]:
    """A deterministic random_bytes that repeats ``seed``."""
    state = {"pos": 0}

    def random_bytes(n: int) -> bytes:
        out = bytes(seed[(state["pos"] + i) % len(seed)] for i in range(n))
        state["pos"] += n
        return out

    return random_bytes


@given(st.binary(min_size=1, max_size=64))
def test_hixie76_generated_key_hides_its_part(seed: bytes) -> None:
    key = hixie.generate_key(_stream(seed))
    assert hixie.key_part(key.value) == key.part
    assert 0 <= key.part <= 4294967295


@given(st.binary(min_size=1, max_size=64))
def test_hixie76_generated_key_follows_the_spec_shape(seed: bytes) -> None:
    value = hixie.generate_key(_stream(seed)).value
    assert value[0] != " "
    assert value[-1] != " "
    assert 1 <= value.count(" ") <= 12
    junk = [c for c in value if not c.isdigit() and c != " "]
    assert 1 <= len(junk) <= 12
    assert all(0x21 <= ord(c) <= 0x2F or 0x3A <= ord(c) <= 0x7E for c in junk)


def test_hixie76_generated_key_uses_only_the_given_randomness() -> None:
    first = hixie.generate_key(_stream(b"\x01\x02\x03"))
    second = hixie.generate_key(_stream(b"\x01\x02\x03"))
    assert first == second
