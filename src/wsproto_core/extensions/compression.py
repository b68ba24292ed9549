"""The ``compression`` option of the servers and clients, and the factories it stands for.

``"deflate"`` (the default everywhere) negotiates permessage-deflate (RFC 7692)
with the factories' defaults, which keep an idle connection cheap; ``None``
negotiates nothing; a :class:`~.ServerPerMessageDeflateFactory` (server) or
:class:`~.ClientPerMessageDeflateFactory` (client), or any other extension
factory, is used as given, to tune it. Only version 13 connections negotiate
extensions: hybi 07/08 and the hixie drafts stay uncompressed.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from .base import ClientExtensionFactory, ServerExtensionFactory
from .permessage_deflate import ClientPerMessageDeflateFactory, ServerPerMessageDeflateFactory

__all__ = ["ClientCompression", "ServerCompression", "client_extensions", "server_extensions"]

ServerCompression: TypeAlias = Literal["deflate"] | ServerExtensionFactory | None
"""A server's ``compression`` option: ``"deflate"``, ``None`` or a factory."""

ClientCompression: TypeAlias = Literal["deflate"] | ClientExtensionFactory | None
"""A client's ``compression`` option: ``"deflate"``, ``None`` or a factory."""


def server_extensions(compression: ServerCompression) -> tuple[ServerExtensionFactory, ...]:
    """The extension factories a server negotiates for ``compression``.

    Raises:
        ValueError: ``compression`` is none of the documented values.
    """
    if compression is None:
        return ()
    if compression == "deflate":
        return (ServerPerMessageDeflateFactory(),)
    if isinstance(compression, ServerExtensionFactory):
        return (compression,)
    raise ValueError(
        f"compression must be 'deflate', None or a server extension factory, not {compression!r}"
    )


def client_extensions(compression: ClientCompression) -> tuple[ClientExtensionFactory, ...]:
    """The extension factories a client offers for ``compression``.

    Raises:
        ValueError: ``compression`` is none of the documented values.
    """
    if compression is None:
        return ()
    if compression == "deflate":
        return (ClientPerMessageDeflateFactory(),)
    if isinstance(compression, ClientExtensionFactory):
        return (compression,)
    raise ValueError(
        f"compression must be 'deflate', None or a client extension factory, not {compression!r}"
    )
