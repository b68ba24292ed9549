"""The RFC 6455 key exchange (versions 13, 8 and 7 share it).

The client sends a random 16-byte nonce, base64-encoded, in
``Sec-WebSocket-Key``; the server proves it read the handshake by answering
``Sec-WebSocket-Accept`` = base64(SHA-1(key + GUID)) (RFC 6455 §1.3, §4.2.2).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["GUID", "accept_key", "generate_key", "is_valid_key"]

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
"""The globally unique identifier of RFC 6455 §1.3."""


def accept_key(key: str) -> str:
    """Return the ``Sec-WebSocket-Accept`` value that answers ``key`` (RFC 6455 §4.2.2 step 5.4)."""
    digest = hashlib.sha1((key + GUID).encode("ascii"), usedforsecurity=False).digest()
    return base64.b64encode(digest).decode("ascii")


def generate_key(random_bytes: Callable[[int], bytes]) -> str:
    """Return a new ``Sec-WebSocket-Key``: 16 random bytes, base64-encoded (RFC 6455 §4.1)."""
    return base64.b64encode(random_bytes(16)).decode("ascii")


def is_valid_key(key: str) -> bool:
    """Return whether ``key`` is base64 (strictly) of exactly 16 bytes (RFC 6455 §4.2.1 item 5)."""
    try:
        return len(base64.b64decode(key.encode("ascii"), validate=True)) == 16
    except (UnicodeEncodeError, binascii.Error):
        return False
