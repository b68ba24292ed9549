"""The ASGI denial response (``websocket.http.response.*``) on the core's streamed refusal.

The head waits for the first body message: a body sent whole, in one message,
goes out with :meth:`~wsproto_core.connection.ServerConnection.reject` and a
``Content-Length``; a body in several messages is streamed
(:meth:`~wsproto_core.connection.ServerConnection.start_reject`), each piece
written as the application sends it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import HandshakeArgumentError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..connection import ServerConnection

__all__ = ["DenialResponse"]


def decode_headers(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """ASGI headers (byte pairs) as the core takes them (``str`` pairs, latin-1)."""
    return [
        (bytes(name).decode("latin-1"), bytes(value).decode("latin-1")) for name, value in headers
    ]


class DenialResponse:
    """One denial response, from ``websocket.http.response.start`` to its last body message.

    Args:
        conn: The connection whose handshake it refuses.
        status: The status of the start message.
        headers: Its headers (``str`` pairs), with the server's default headers.
    """

    __slots__ = ("_conn", "_headers", "_started", "_status", "ended")

    def __init__(self, conn: ServerConnection, status: int, headers: list[tuple[str, str]]) -> None:
        self._conn = conn
        self._status = status
        self._headers = headers
        self._started = False
        self.ended = False
        """The last body message was sent."""

    def body(self, body: bytes, more_body: bool) -> bool:
        """Queue a ``websocket.http.response.body`` message on the connection; is it the end?

        Raises:
            RuntimeError: The core refused the status, a header, or a body beyond
                the ``Content-Length`` announced (the application's error).
        """
        conn = self._conn
        try:
            if not self._started and not more_body:
                conn.reject(self._status, self._headers, body)
                self.ended = True
                return True
            if not self._started:
                conn.start_reject(self._status, self._headers)
                self._started = True
            conn.send_reject_body(body)
            if not more_body:
                conn.end_reject()
                self.ended = True
        except HandshakeArgumentError as error:
            raise RuntimeError(f"Invalid denial response: {error}") from error
        return self.ended

    def finish(self) -> None:
        """The application returned: end the response as it stands, or abandon it.

        A response whose head never went out is sent with an empty body (if
        the core refuses its status, nothing is sent and the handshake is still
        undecided: the server answers 500); one whose body falls short of its
        ``Content-Length`` is abandoned (the stream is closed, which tells the
        client the body is cut short).
        """
        if self.ended:
            return
        conn = self._conn
        if not self._started:
            try:
                conn.start_reject(self._status, self._headers)
            except HandshakeArgumentError:
                return
            self._started = True
        try:
            conn.end_reject()
        except HandshakeArgumentError:
            conn.close()
        self.ended = True
