"""What both servers' accept loops share: the answer to a connection over the cap, and
the reporting of failed accepts (out of file descriptors, mostly).

A connection beyond ``max_connections`` gets :data:`UNAVAILABLE` before its request
is read, then its stream is ended: EOF sent, what the client still sends read and
dropped for :data:`REFUSAL_LINGER` seconds at most, then closed. Closing with the
client's request unread would reset the stream, and the reset can destroy the 503
before the client reads it.

When ``accept()`` fails, :class:`AcceptFailures` says how long to stop accepting
(connections that end free descriptors meanwhile) and logs one line a second at
most, whatever the rate of failures.
"""

from __future__ import annotations

import errno
import math
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import logging

RETRY_AFTER = 5
"""Seconds the 503 asks the client to wait before it tries again (``Retry-After``)."""
REFUSAL_LINGER = 2.0
"""Seconds a refused connection is read and drained after its 503, at most."""

_BODY = b"Too many connections: try again later.\n"
UNAVAILABLE = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Retry-After: %d\r\n"
    b"Connection: close\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: %d\r\n"
    b"\r\n"
    b"%s"
) % (RETRY_AFTER, len(_BODY), _BODY)
"""The whole response to a connection over ``max_connections``."""

RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
"""``accept()`` failures that mean the process or the system ran out of something."""

REPORT_INTERVAL = 1.0
"""Seconds between two log lines about failed accepts, at least."""
FIRST_PAUSE = 0.05
"""Seconds without accepting after a first failure; each failure in a row doubles it."""
MAX_PAUSE = 1.0
"""The longest pause, in seconds."""


class AcceptFailures:
    """Failed accepts of one server: how long to pause, and a log line a second at most.

    Call :meth:`failed` for each failure and stop accepting for the seconds it returns;
    call :meth:`succeeded` after an accept when :attr:`failing` is true.
    """

    __slots__ = ("_last_report", "_logger", "_pause", "_unreported", "failing")

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._last_report = -math.inf
        self._unreported = 0
        self._pause = 0.0
        self.failing = False
        """Whether the last accept failed."""

    def failed(self, exc: Exception, what: str = "accept failed") -> float:
        """Count a failure, log it unless a line was logged less than a second ago.

        Args:
            exc: What failed: an :class:`OSError` from ``accept()``, or the
                :class:`RuntimeError` of a thread that could not start.
            what: The log line's start.

        Returns:
            The seconds to wait before accepting again.
        """
        self.failing = True
        self._pause = min(MAX_PAUSE, self._pause * 2) if self._pause else FIRST_PAUSE
        self._unreported += 1
        now = time.monotonic()
        if now - self._last_report >= REPORT_INTERVAL:
            self._last_report = now
            more = self._unreported - 1
            self._unreported = 0
            code = exc.errno if isinstance(exc, OSError) else None
            exhausted = code in RESOURCE_ERRNOS or isinstance(exc, RuntimeError)
            self._logger.error(
                "%s: %s%s; pausing accepts for %g s%s",
                what,
                (exc.strerror if isinstance(exc, OSError) else None) or exc,
                f" [{errno.errorcode.get(code, code)}]" if code else "",
                self._pause,
                f" ({more} more failures since the last report)" if more else "",
                exc_info=None if exhausted else exc,
            )
        return self._pause

    def succeeded(self) -> None:
        """Accepting works again: reset the pause; say so if a second went by since the
        last line (else the next line says it)."""
        self._pause = 0.0
        now = time.monotonic()
        if now - self._last_report >= REPORT_INTERVAL:
            self.failing = False
            self._last_report = now
            if self._unreported:
                self._logger.warning(
                    "accepting again (%d more failures since the last report)", self._unreported
                )
            else:
                self._logger.warning("accepting again")
            self._unreported = 0


class Refusals:
    """Connections answered 503 beyond ``max_connections``: a log line a second at most."""

    __slots__ = ("_last_report", "_logger", "_max_connections", "_unreported", "total")

    def __init__(self, logger: logging.Logger, max_connections: int | None) -> None:
        self._logger = logger
        self._max_connections = max_connections
        self._last_report = -math.inf
        self._unreported = 0
        self.total = 0
        """Connections answered 503 since the start."""

    def refused(self) -> None:
        """Count a connection answered 503; log the count unless a line was logged less
        than a second ago (the next line counts it then)."""
        self.total += 1
        self._unreported += 1
        now = time.monotonic()
        if now - self._last_report >= REPORT_INTERVAL:
            self._last_report = now
            self._logger.warning(
                "max_connections (%s) reached: %d connection%s answered 503",
                self._max_connections,
                self._unreported,
                "" if self._unreported == 1 else "s",
            )
            self._unreported = 0
