"""The opening handshake, every version, both roles, over h11.

* :mod:`.uri`: ``ws://`` and ``wss://`` URIs (RFC 6455 §3).
* :mod:`.http`: header helpers shared by both roles.
* :mod:`.rfc6455`: the ``Sec-WebSocket-Key``/``Accept`` exchange (versions 13, 8, 7).
* :mod:`.hixie`: the draft-hixie-76 key challenge.
* :mod:`.negotiation`: subprotocols and the ``Sec-WebSocket-Extensions`` grammar.
* :mod:`.server` and :mod:`.client`: the two roles.
"""

from __future__ import annotations

from .client import ClientHandshake
from .server import ServerHandshake
from .uri import WebSocketURI, parse_uri

__all__ = [
    "ClientHandshake",
    "ServerHandshake",
    "WebSocketURI",
    "parse_uri",
]
