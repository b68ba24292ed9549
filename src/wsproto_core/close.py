"""Close codes and the close frame's payload (RFC 6455 §5.5.1, §7.4)."""

from __future__ import annotations

import enum
import struct

from .errors import InvalidCloseCode, InvalidUTF8, PayloadTooBig, ProtocolError
from .frames import MAX_CONTROL_PAYLOAD
from .versions import PROFILES

__all__ = [
    "CloseCode",
    "is_valid_wire_code",
    "parse_close_payload",
    "serialize_close_payload",
]


class CloseCode(enum.IntEnum):
    """The close codes registered with IANA (RFC 6455 §7.4.1, §11.7).

    Only some of them may travel in a close frame; see :func:`is_valid_wire_code`.
    """

    NORMAL_CLOSURE = 1000
    """The purpose of the connection has been fulfilled."""
    GOING_AWAY = 1001
    """The endpoint is going away: server shutdown, browser leaving the page."""
    PROTOCOL_ERROR = 1002
    """The peer broke the protocol."""
    UNSUPPORTED_DATA = 1003
    """The endpoint cannot accept this kind of data (binary when it only takes text, say)."""
    MESSAGE_TOO_BIG_DRAFT = 1004
    """Reserved in RFC 6455, and never sent by a version 13 endpoint.

    The hybi drafts up to 12 (``Sec-WebSocket-Version`` 7 and 8) defined 1004 as
    "frame too large", so a server speaking those versions closes an oversized
    message with it (as Apache mod_websocket does); version 13 uses
    :attr:`MESSAGE_TOO_BIG` (1009). :attr:`RESERVED_1004` is the same member.
    """
    RESERVED_1004 = 1004
    """An alias of :attr:`MESSAGE_TOO_BIG_DRAFT`: the name RFC 6455 gives the code."""
    NO_STATUS_RCVD = 1005
    """Never on the wire: the close frame carried no status code."""
    ABNORMAL_CLOSURE = 1006
    """Never on the wire: the connection ended without a closing handshake."""
    INVALID_FRAME_PAYLOAD_DATA = 1007
    """A message's data was inconsistent with its type (invalid UTF-8 in text)."""
    POLICY_VIOLATION = 1008
    """A message violates the endpoint's policy."""
    MESSAGE_TOO_BIG = 1009
    """A message is too big to process (version 13)."""
    MANDATORY_EXTENSION = 1010
    """Client only: the server did not negotiate an extension the client requires."""
    INTERNAL_ERROR = 1011
    """Server: an unexpected condition prevented it from fulfilling the request."""
    SERVICE_RESTART = 1012
    """The service is restarting."""
    TRY_AGAIN_LATER = 1013
    """The service is overloaded; try again later."""
    BAD_GATEWAY = 1014
    """A gateway or proxy got an invalid response from the upstream server."""
    TLS_HANDSHAKE = 1015
    """Never on the wire: the TLS handshake failed."""


_unpack_from = struct.unpack_from
_pack = struct.pack


def is_valid_wire_code(code: int) -> bool:
    """Whether ``code`` may travel in a close frame received from a peer (RFC 6455 §7.4).

    Valid: 1000-1003 and 1007-1014 (registered for use on the wire) and
    3000-4999 (for libraries, frameworks and applications). Everything else
    is a protocol error: 1004-1006 and 1015 are reserved, 1016-2999 are
    reserved for future revisions, and below 1000 or from 5000 nothing is defined.

    Args:
        code: A close code.

    Returns:
        Whether it is valid on the wire.
    """
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def _may_travel(code: int, version: int) -> bool:
    """Whether ``code`` may be in a close frame of this protocol version (13, 8 or 7)."""
    if is_valid_wire_code(code):
        return True
    known = PROFILES.get(version)  # type: ignore[call-overload]
    return known is not None and code in known.extra_wire_codes


def parse_close_payload(payload: bytes, *, version: int = 13) -> tuple[int, str]:
    """Read the status code and reason of a received close frame (RFC 6455 §5.5.1).

    Args:
        payload: The close frame's (unmasked) payload.
        version: The ``Sec-WebSocket-Version`` spoken. On versions 7 and 8 the
            peer may also send 1004, which their drafts defined as "frame too large".

    Returns:
        ``(code, reason)``; ``(1005, "")`` for an empty payload (no status code).

    Raises:
        ProtocolError: A 1-byte payload, or a code not valid on the wire (close code 1002).
        InvalidUTF8: The reason is not valid UTF-8 (close code 1007).
    """
    if not payload:
        return int(CloseCode.NO_STATUS_RCVD), ""
    if len(payload) == 1:
        raise ProtocolError("close frame payload of 1 byte")
    (code,) = _unpack_from("!H", payload)
    if not _may_travel(code, version):
        raise ProtocolError(f"invalid close code {code}")
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidUTF8("invalid UTF-8 in close reason") from None
    return code, reason


def serialize_close_payload(code: int | None, reason: str, *, version: int = 13) -> bytes:
    """Build the payload of a close frame to send (RFC 6455 §5.5.1).

    Args:
        code: The status code, or ``None`` to send no status code (the peer
            sees 1005); the reason must then be empty.
        reason: The reason, encoded as UTF-8.
        version: The ``Sec-WebSocket-Version`` spoken. Versions 7 and 8 may
            also send 1004, which their drafts defined as "frame too large".

    Returns:
        The payload (at most 125 bytes).

    Raises:
        InvalidCloseCode: ``code`` may not be sent on the wire.
        ValueError: A reason was given without a code.
        PayloadTooBig: The code and encoded reason take more than 125 bytes.
    """
    if code is None:
        if reason:
            raise ValueError("a close reason needs a close code")
        return b""
    if not _may_travel(code, version):
        raise InvalidCloseCode(code)
    payload = _pack("!H", code) + reason.encode("utf-8")
    if len(payload) > MAX_CONTROL_PAYLOAD:
        raise PayloadTooBig(len(payload), MAX_CONTROL_PAYLOAD, what="close frame payload")
    return payload
