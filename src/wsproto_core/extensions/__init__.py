"""Extensions (RFC 6455 §9) behind a small interface.

The connection negotiates extensions through factories during the opening
handshake and then passes every data frame of an established connection
through the agreed :class:`Extension` objects. permessage-deflate (RFC 7692)
is the one implementation: :class:`ServerPerMessageDeflateFactory` and
:class:`ClientPerMessageDeflateFactory`.
"""

from __future__ import annotations

from .base import ClientExtensionFactory, Extension, ServerExtensionFactory
from .permessage_deflate import (
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
    ServerPerMessageDeflateFactory,
)

__all__ = [
    "ClientExtensionFactory",
    "ClientPerMessageDeflateFactory",
    "Extension",
    "PerMessageDeflate",
    "ServerExtensionFactory",
    "ServerPerMessageDeflateFactory",
]
