"""The version profiles: each version's differences, written down once."""

from __future__ import annotations

import pytest
from pairs import open_pair

from wsproto_core import (
    ClientConnection,
    Close,
    ConnectionState,
    InvalidCloseCode,
    TransportAction,
    UnsupportedOperation,
)
from wsproto_core.close import parse_close_payload, serialize_close_payload
from wsproto_core.versions import PROFILES, SUPPORTED_VERSIONS, profile


def test_every_supported_version_has_a_profile() -> None:
    assert tuple(PROFILES) == SUPPORTED_VERSIONS
    for version in SUPPORTED_VERSIONS:
        assert profile(version).version == version


def test_an_unknown_version_has_none() -> None:
    with pytest.raises(ValueError, match="unsupported protocol version 12"):
        profile(12)  # type: ignore[arg-type]


def test_what_only_the_rfc_versions_have() -> None:
    for version in SUPPORTED_VERSIONS:
        rfc = isinstance(version, int)
        known = profile(version)
        assert known.hixie is not rfc
        assert known.binary is known.pings is known.fragments is known.close_codes is rfc


def test_the_differences_between_the_drafts_and_the_rfc() -> None:
    # hybi-07 and hybi-08 (versions 7 and 8): 1004 meant "too large"; the origin
    # header had the Sec-WebSocket- prefix. RFC 6455 (13): 1009 and Origin.
    assert profile(13).too_big_code == 1009
    assert profile(8).too_big_code == profile(7).too_big_code == 1004
    assert profile(13).origin_header == "Origin"
    assert profile(8).origin_header == profile(7).origin_header == "Sec-WebSocket-Origin"
    # draft-hixie-75 has neither the key challenge nor a closing handshake.
    assert profile("hixie-76").key_challenge and profile("hixie-76").closing_handshake
    assert not profile("hixie-75").key_challenge
    assert not profile("hixie-75").closing_handshake
    assert profile("hixie-75").protocol_header == "WebSocket-Protocol"


@pytest.mark.parametrize("version", [13, 8, 7])
def test_1004_travels_only_where_the_profile_allows(version: int) -> None:
    allowed = 1004 in profile(version).extra_wire_codes  # type: ignore[arg-type]
    assert allowed is (version != 13)
    if allowed:
        payload = serialize_close_payload(1004, "", version=version)
        assert parse_close_payload(payload, version=version) == (1004, "")
    else:
        with pytest.raises(InvalidCloseCode):
            serialize_close_payload(1004, "", version=version)


def test_a_draft_75_connection_acts_on_its_profile() -> None:
    client, server = open_pair("hixie-75")
    with pytest.raises(UnsupportedOperation):
        server.ping()
    with pytest.raises(UnsupportedOperation):
        server.send_binary(b"x")
    # No closing handshake: close() ends the connection at once, with nothing sent.
    server.close()
    assert server.data_to_send() == b""
    assert server.state is ConnectionState.CLOSED
    assert server.transport_action is TransportAction.HALF_CLOSE
    assert list(server.events()) == [Close(1005, "", by_peer=False)]
    # The peer's EOF is its close.
    client.receive_data(b"")
    assert list(client.events()) == [Close(1005, "")]
    assert client.transport_action is TransportAction.CLOSE


def test_a_client_refuses_a_version_without_a_profile() -> None:
    with pytest.raises(ValueError, match="unsupported protocol version"):
        ClientConnection("ws://example.com/", version=9)  # type: ignore[arg-type]
