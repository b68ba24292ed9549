"""Run conformance cases against a WebSocket server over the network.

The server under test is an echo endpoint at a ``ws://`` or ``wss://`` URL: it
must send every message back as it came (what the Autobahn Testsuite's
testees do). Each case gets its own connection, one case at a time, as the
Autobahn Testsuite runs them::

    from wsproto_core.testing.runner import run_server_suite

    results = run_server_suite("ws://127.0.0.1:9001/echo", include=("1.*", "5.*"))
    failed = [r for r in results if r.verdict == "FAILED"]

In asynchronous code, :func:`run_cases` (or :func:`run_case`) does the same
with cases chosen by :func:`server_cases`. A server that cannot be reached
does not raise: each case it fails is a FAILED result that says why.
"""

from __future__ import annotations

import asyncio
import os
import re
import ssl
import time
from typing import TYPE_CHECKING

from ..handshake import parse_uri
from .catalogue import CatalogueOptions, catalogue, select
from .engine import DEFAULT_TIMEOUT, CaseResult, CaseRun, WireEntry
from .network import drive, open_connection

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from ..handshake.uri import WebSocketURI
    from .cases import Case

__all__ = [
    "DEFAULT_CASE_LIMIT",
    "DEFAULT_SCALE",
    "connect_failure",
    "open_stream",
    "run_case",
    "run_cases",
    "run_server_suite",
    "server_cases",
]

DEFAULT_SCALE = CatalogueOptions().scale
"""Family 9's sizes as a fraction of Autobahn's, unless told otherwise."""

DEFAULT_CASE_LIMIT = 60.0
"""Seconds one case may take in all, however chatty the server: then it is FAILED."""


def server_cases(
    include: Sequence[str] = ("*",),
    exclude: Sequence[str] = (),
    *,
    scale: float = DEFAULT_SCALE,
    max_size: int | None = None,
) -> list[Case]:
    """The catalogue's cases for a server testee whose ids match ``include`` and not ``exclude``.

    Args:
        include: Shell-style patterns over case ids (``"5.*"``, ``"6.4.?"``; a
            bare family, ``"7"``, stands for its cases).
        exclude: Patterns of ids to leave out.
        scale: Family 9's message sizes and counts as a fraction of Autobahn's.
        max_size: The server's maximum message size, for the ``limits`` group
            (left out when ``None``).
    """
    options = CatalogueOptions(scale=scale, max_size=max_size)
    return [c for c in select(catalogue(options), include, exclude) if "server" in c.roles]


async def open_stream(
    uri: WebSocketURI, *, timeout: float, ssl_context: ssl.SSLContext | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a TCP connection (and TLS for ``wss://``) to ``uri``'s host, within ``timeout`` seconds.

    Raises:
        OSError: The connection or the TLS handshake failed.
        asyncio.TimeoutError: Neither was done in time.
    """
    context = None
    if uri.secure:
        context = ssl_context or ssl.create_default_context()
    return await asyncio.wait_for(
        open_connection(
            uri.host, uri.port, ssl=context, server_hostname=uri.host if context else None
        ),
        timeout,
    )


def connect_failure(uri: WebSocketURI, exc: BaseException, timeout: float) -> str:
    """Why connecting to ``uri`` failed, in one line.

    For example ``cannot connect to example.com:80: connection refused``.
    """
    if isinstance(exc, asyncio.TimeoutError):
        why = f"no connection within {timeout:g} s"
    elif isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        why = f"TLS error: {exc.verify_message}"
    elif isinstance(exc, ssl.SSLError):
        # "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)" -> "wrong version number"
        why = "TLS error: " + re.sub(r"^\[[^]]*\]\s*|\s*\(_ssl\.c:\d+\)$", "", str(exc.args[-1]))
    elif isinstance(exc, OSError) and exc.errno is not None and exc.errno > 0:
        message = os.strerror(exc.errno)
        why = message[:1].lower() + message[1:]
    else:
        why = str(exc) or type(exc).__name__
    host = f"[{uri.host}]" if ":" in uri.host else uri.host
    return f"cannot connect to {host}:{uri.port}: {why}"


def _unreachable(case: Case, reason: str, duration: float) -> CaseResult:
    return CaseResult(
        case,
        "server",
        "FAILED",
        reason,
        "OK",
        "no WebSocket connection to close",
        wire=[WireEntry("note", 0.0, reason)],
        duration=duration,
    )


async def run_case(
    url: str,
    case: Case,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    ssl_context: ssl.SSLContext | None = None,
    case_limit: float | None = DEFAULT_CASE_LIMIT,
) -> CaseResult:
    """Play ``case`` against the echo server at ``url`` on a connection of its own.

    Args:
        url: The server's ``ws://`` or ``wss://`` URL.
        case: The case; it must apply to a server testee.
        timeout: Seconds to wait for news from the server, at each point where
            the peer waits (the case's own ``timeout`` comes first).
        ssl_context: For ``wss://``: the client TLS context (default: the
            system's trusted certificates, host name checked).
        case_limit: Seconds the whole case may take, even if the server keeps
            talking; ``None`` for no such bound.

    Returns:
        The verdicts. A connection that cannot be made (refused, reset, a
        failed TLS handshake) is a FAILED result saying why, not an exception.

    Raises:
        InvalidURI: ``url`` is not a WebSocket URL.
        ValueError: The case does not apply to a server testee.
    """
    uri = parse_uri(url)
    run = CaseRun(case, "server", uri=uri, timeout=timeout)
    started = time.monotonic()
    try:
        reader, writer = await open_stream(uri, timeout=timeout, ssl_context=ssl_context)
    except (OSError, asyncio.TimeoutError) as exc:
        return _unreachable(case, connect_failure(uri, exc, timeout), time.monotonic() - started)
    run.start()
    await drive(run, reader, writer, limit=case_limit)
    return run.result()


async def run_cases(
    url: str,
    cases: Iterable[Case],
    *,
    on_result: Callable[[CaseResult], object] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    ssl_context: ssl.SSLContext | None = None,
    case_limit: float | None = DEFAULT_CASE_LIMIT,
) -> list[CaseResult]:
    """Play ``cases`` one after the other against the echo server at ``url``.

    Args:
        url: The server's ``ws://`` or ``wss://`` URL.
        cases: The cases, each for a server testee, in the order to play them.
        on_result: Called with each result as soon as it is known (to show progress).
        timeout: As for :func:`run_case`.
        ssl_context: As for :func:`run_case`.
        case_limit: As for :func:`run_case`.

    Returns:
        The results, in the order of ``cases``.

    Raises:
        InvalidURI: ``url`` is not a WebSocket URL.
        ValueError: A case does not apply to a server testee (checked before
            any is played).
    """
    parse_uri(url)
    cases = list(cases)
    wrong = [case.id for case in cases if "server" not in case.roles]
    if wrong:
        raise ValueError(f"cases for a client testee only: {', '.join(wrong)}")
    results = []
    for case in cases:
        result = await run_case(
            url, case, timeout=timeout, ssl_context=ssl_context, case_limit=case_limit
        )
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def run_server_suite(
    url: str,
    include: Sequence[str] = ("*",),
    exclude: Sequence[str] = (),
    *,
    scale: float = DEFAULT_SCALE,
    max_size: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    ssl_context: ssl.SSLContext | None = None,
    on_result: Callable[[CaseResult], object] | None = None,
) -> list[CaseResult]:
    """Play the catalogue's cases for servers against ``url``, from synchronous code.

    Args:
        url: The echo server's ``ws://`` or ``wss://`` URL.
        include: Patterns of case ids to play (see :func:`server_cases`).
        exclude: Patterns of case ids to leave out.
        scale: Family 9's sizes as a fraction of Autobahn's.
        max_size: The server's maximum message size, for the ``limits`` group.
        timeout: As for :func:`run_case`.
        ssl_context: As for :func:`run_case`.
        on_result: Called with each result as soon as it is known.

    Returns:
        The results, in the catalogue's order (empty if no case matches).

    Raises:
        InvalidURI: ``url`` is not a WebSocket URL.
        RuntimeError: Called from a running event loop: ``await`` :func:`run_cases` there.
    """
    parse_uri(url)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError(
            "run_server_suite() blocks: in a running event loop, await run_cases() instead"
        )
    cases = server_cases(include, exclude, scale=scale, max_size=max_size)
    return asyncio.run(
        run_cases(url, cases, on_result=on_result, timeout=timeout, ssl_context=ssl_context)
    )
