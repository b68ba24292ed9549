"""The protocol versions a connection can speak."""

from __future__ import annotations

from typing import Literal

__all__ = [
    "HIXIE_75",
    "HIXIE_76",
    "LEGACY_VERSIONS",
    "RFC6455_VERSIONS",
    "SUPPORTED_VERSIONS",
    "ProtocolVersion",
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
