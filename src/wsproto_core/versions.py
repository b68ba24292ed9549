"""The protocol versions a connection can speak."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "HIXIE_75",
    "HIXIE_76",
    "LEGACY_VERSIONS",
    "PROFILES",
    "RFC6455_VERSIONS",
    "SUPPORTED_VERSIONS",
    "ProtocolVersion",
    "VersionProfile",
    "profile",
]

HIXIE_76: Literal["hixie-76"] = "hixie-76"
"""draft-hixie-76 (hybi-00): MD5 key challenge, ``00 .. FF`` text frames."""

HIXIE_75: Literal["hixie-75"] = "hixie-75"
"""draft-hixie-75: no key challenge; opt-in only."""

ProtocolVersion = Literal[13, 8, 7, "hixie-76", "hixie-75"]
"""A negotiated protocol: ``Sec-WebSocket-Version`` 13, 8 or 7, or a hixie draft."""

RFC6455_VERSIONS: tuple[int, ...] = (13, 8, 7)
"""The ``Sec-WebSocket-Version`` values we speak, in preference order (RFC 6455 §4.4)."""

LEGACY_VERSIONS: tuple[str, ...] = (HIXIE_76, HIXIE_75)
"""The pre-RFC drafts we speak."""

SUPPORTED_VERSIONS: tuple[ProtocolVersion, ...] = (13, 8, 7, HIXIE_76, HIXIE_75)
"""Every protocol version a connection may be created for."""


@dataclass(frozen=True)
class VersionProfile:
    """What one protocol version can do: the one place its differences are written down.

    The connection, the codecs, the handshakes and the adapters consult this
    instead of testing the version themselves.

    Attributes:
        version: The protocol version.
        hixie: Framed as the hixie drafts (``00 .. FF`` text frames, no opcodes);
            otherwise RFC 6455 framing (versions 13, 8 and 7).
        closing_handshake: Has a closing handshake. draft-hixie-75 has none: closing the
            TCP stream is how a connection closes.
        close_codes: Close frames carry a code and a reason (the hixie-76 close is ``FF 00``).
        binary: Has binary messages.
        pings: Has pings and pongs (RFC 6455 §5.5.2, §5.5.3), hence keepalive.
        fragments: Messages may be sent in fragments (RFC 6455 §5.4).
        too_big_code: The close code for a message over the size limit: 1009, or 1004 on
            versions 7 and 8, whose drafts (hybi-07, hybi-08) gave 1004 that meaning.
        extra_wire_codes: Close codes this version may send beyond RFC 6455 §7.4's.
        origin_header: The request header that carries the origin.
        header_prefix: The prefix of the WebSocket headers: ``Sec-WebSocket-``, or
            ``WebSocket-`` on draft-hixie-75 (``WebSocket-Protocol``, ``WebSocket-Location``).
        key_challenge: The draft-hixie-76 challenge: two keys in the request, key3
            after it, an MD5 answer after the response.
    """

    version: ProtocolVersion
    hixie: bool
    closing_handshake: bool
    close_codes: bool
    binary: bool
    pings: bool
    fragments: bool
    too_big_code: int
    extra_wire_codes: frozenset[int]
    origin_header: str
    header_prefix: str
    key_challenge: bool

    @property
    def protocol_header(self) -> str:
        """The header that carries the subprotocol."""
        return f"{self.header_prefix}Protocol"


def _rfc6455(version: Literal[13, 8, 7]) -> VersionProfile:
    hybi = version != 13
    return VersionProfile(
        version=version,
        hixie=False,
        closing_handshake=True,
        close_codes=True,
        binary=True,
        pings=True,
        fragments=True,
        too_big_code=1004 if hybi else 1009,
        extra_wire_codes=frozenset({1004}) if hybi else frozenset(),
        origin_header="Sec-WebSocket-Origin" if hybi else "Origin",
        header_prefix="Sec-WebSocket-",
        key_challenge=False,
    )


def _hixie(version: Literal["hixie-76", "hixie-75"]) -> VersionProfile:
    draft76 = version == HIXIE_76
    return VersionProfile(
        version=version,
        hixie=True,
        closing_handshake=draft76,
        close_codes=False,
        binary=False,
        pings=False,
        fragments=False,
        too_big_code=1009,  # reported in the Close event only: hixie closes carry no code
        extra_wire_codes=frozenset(),
        origin_header="Origin",
        header_prefix="Sec-WebSocket-" if draft76 else "WebSocket-",
        key_challenge=draft76,
    )


PROFILES: dict[ProtocolVersion, VersionProfile] = {
    13: _rfc6455(13),
    8: _rfc6455(8),
    7: _rfc6455(7),
    HIXIE_76: _hixie(HIXIE_76),
    HIXIE_75: _hixie(HIXIE_75),
}
"""The profile of every supported version."""


def profile(version: ProtocolVersion) -> VersionProfile:
    """The :class:`VersionProfile` of ``version``.

    Raises:
        ValueError: ``version`` is not one we speak.
    """
    try:
        return PROFILES[version]
    except KeyError:
        raise ValueError(
            f"unsupported protocol version {version!r}; use one of {SUPPORTED_VERSIONS}"
        ) from None
