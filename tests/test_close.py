"""Close codes and close frame payloads (RFC 6455 §5.5.1, §7.4)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsproto_core.close import (
    CloseCode,
    is_valid_wire_code,
    parse_close_payload,
    serialize_close_payload,
)
from wsproto_core.errors import InvalidCloseCode, InvalidUTF8, PayloadTooBig, ProtocolError


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NORMAL_CLOSURE", 1000),
        ("GOING_AWAY", 1001),
        ("PROTOCOL_ERROR", 1002),
        ("UNSUPPORTED_DATA", 1003),
        ("RESERVED_1004", 1004),
        ("MESSAGE_TOO_BIG_DRAFT", 1004),
        ("NO_STATUS_RCVD", 1005),
        ("ABNORMAL_CLOSURE", 1006),
        ("INVALID_FRAME_PAYLOAD_DATA", 1007),
        ("POLICY_VIOLATION", 1008),
        ("MESSAGE_TOO_BIG", 1009),
        ("MANDATORY_EXTENSION", 1010),
        ("INTERNAL_ERROR", 1011),
        ("SERVICE_RESTART", 1012),
        ("TRY_AGAIN_LATER", 1013),
        ("BAD_GATEWAY", 1014),
        ("TLS_HANDSHAKE", 1015),
    ],
)
def test_close_code_has_the_registered_value(name: str, value: int) -> None:
    assert CloseCode[name] == value


def test_1004_names_are_one_member() -> None:
    assert CloseCode["RESERVED_1004"] is CloseCode["MESSAGE_TOO_BIG_DRAFT"]


@pytest.mark.parametrize(
    "code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999]
)
def test_wire_code_is_valid(code: int) -> None:
    assert is_valid_wire_code(code)


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535])
def test_wire_code_is_invalid(code: int) -> None:
    assert not is_valid_wire_code(code)


# -- parse_close_payload -------------------------------------------------------------


def test_parse_empty_payload_means_no_status() -> None:
    assert parse_close_payload(b"") == (1005, "")


def test_parse_code_only() -> None:
    assert parse_close_payload(b"\x03\xe8") == (1000, "")


def test_parse_code_and_reason() -> None:
    assert parse_close_payload(b"\x03\xe9bye \xc3\xa9") == (1001, "bye é")


def test_parse_one_byte_payload_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_close_payload(b"\x03")
    assert info.value.close_code == 1002


@pytest.mark.parametrize("code", [999, 1004, 1005, 1006, 1015, 2000, 5000])
def test_parse_invalid_code_is_a_protocol_error(code: int) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_close_payload(code.to_bytes(2, "big"))
    assert info.value.close_code == 1002
    assert not isinstance(info.value, InvalidUTF8)


def test_parse_reason_that_is_not_utf8_is_invalid_utf8() -> None:
    with pytest.raises(InvalidUTF8) as info:
        parse_close_payload(b"\x03\xe8\xff")
    assert info.value.close_code == 1007


# -- serialize_close_payload ---------------------------------------------------------


def test_serialize_no_code_is_empty() -> None:
    assert serialize_close_payload(None, "") == b""


def test_serialize_no_code_with_a_reason_is_refused() -> None:
    with pytest.raises(ValueError, match="reason needs a close code"):
        serialize_close_payload(None, "why")


def test_serialize_code_and_reason() -> None:
    assert serialize_close_payload(1000, "bye é") == b"\x03\xe8bye \xc3\xa9"


@pytest.mark.parametrize("code", [999, 1004, 1005, 1006, 1015, 2999, 5000])
def test_serialize_invalid_code_is_refused(code: int) -> None:
    with pytest.raises(InvalidCloseCode) as info:
        serialize_close_payload(code, "")
    assert info.value.code == code


@pytest.mark.parametrize("version", [7, 8])
def test_serialize_1004_is_allowed_on_versions_7_and_8(version: int) -> None:
    assert serialize_close_payload(1004, "too big", version=version) == b"\x03\xectoo big"


@pytest.mark.parametrize("version", [7, 8])
def test_serialize_other_reserved_codes_stay_refused_on_versions_7_and_8(version: int) -> None:
    with pytest.raises(InvalidCloseCode):
        serialize_close_payload(1005, "", version=version)


def test_serialize_largest_payload_is_125_bytes() -> None:
    assert len(serialize_close_payload(1000, "x" * 123)) == 125


def test_serialize_payload_over_125_bytes_is_refused_not_truncated() -> None:
    with pytest.raises(PayloadTooBig) as info:
        serialize_close_payload(1000, "x" * 124)
    assert (info.value.size, info.value.max_size) == (126, 125)


@given(
    code=st.integers(1000, 1003) | st.integers(1007, 1014) | st.integers(3000, 4999),
    reason=st.text(max_size=30),
)
def test_close_payload_round_trips(code: int, reason: str) -> None:
    assert parse_close_payload(serialize_close_payload(code, reason)) == (code, reason)
