"""The command line: ``python -m wsproto_core`` (or ``wsproto-core``).

Commands:

* ``serve``: the demo server (echo at ``/echo``, dumb-increment at
  ``/dumb-increment``, the demo pages at ``/``, ``/echo.html``,
  ``/increment.html``), over asyncio or threads, in one or several processes.
* ``connect URL``: an interactive client; each line of standard input is sent
  as a text message and each reply is printed.
* ``demo``: a client and a server connection talking in memory, printed.
* ``conformance URL``: the conformance kit (:mod:`wsproto_core.testing`) against
  an echo server, a line per case and a table of verdicts; ``conformance
  --serve PORT`` serves the cases for a client under test instead.

Whatever goes wrong is reported as one line on standard error,
``wsproto-core: error: ...``, never a traceback: exit status 2 for a usage error
(a bad option or URL), 1 for a failure at run time (a port in use, a host that
does not resolve, a refused connection, a TLS error) and for a ``conformance``
run with a FAILED case.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import io
import logging
import os
import re
import signal
import socket
import ssl
import sys
import threading
import time
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TypeVar

from .errors import HandshakeArgumentError, HandshakeRejected, InvalidHandshake, InvalidURI
from .handlers import DEFAULT_MAX_MESSAGE_SIZE
from .handshake.uri import parse_uri
from .versions import SUPPORTED_VERSIONS

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ._workers import Listening
    from .asyncio import ClientWebSocket
    from .events import Event
    from .extensions.compression import ServerCompression
    from .handlers import Router
    from .hub import Hub
    from .stats import ServerStats
    from .testing.cases import Case
    from .testing.engine import CaseResult

__all__ = ["main"]

PROG = "wsproto-core"
"""The program's name, at the start of every error line."""
QUIET_PERIOD = 0.5
"""``connect``: seconds without a reply, after standard input ended, before closing."""
MAX_WAIT = 5.0
"""``connect``: the longest wait for replies after standard input ended, in seconds."""
OPEN_TIMEOUT = 10.0
"""``connect``: seconds for the TCP, TLS and WebSocket handshakes together."""
SHOWN_BODY = 200
"""``connect``: the most characters of a refusal's body shown in the error line."""
FD_RESERVE = 32
"""``serve``: file descriptors the default ``--max-connections`` leaves for the rest (the
listening socket, the event loop, the log) and for 503s to connections beyond it."""

_VERSIONS = {str(version): version for version in SUPPORTED_VERSIONS}


class _Failure(Exception):
    """A failure to report as one line on standard error, with an exit status.

    Attributes:
        status: The exit status: 1 for a failure at run time, 2 for a usage error.
    """

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


# -- describing failures ---------------------------------------------------------------


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _lower_first(text: str) -> str:
    """``"Address already in use"`` -> ``"address already in use"``, to follow a colon."""
    return text[:1].lower() + text[1:]


def _tls_reason(exc: ssl.SSLError) -> str:
    """OpenSSL's words, without its codes: ``"wrong version number"``, ``"self-signed ..."``."""
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return exc.verify_message
    # "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)" -> "wrong version number"
    return re.sub(r"^\[[^]]*\]\s*|\s*\(_ssl\.c:\d+\)$", "", str(exc.args[-1]))


def _os_reason(exc: OSError) -> str:
    """What went wrong, in the words of the C library, without errno numbers or addresses."""
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {_tls_reason(exc)}"
    if isinstance(exc, socket.gaierror) and exc.strerror:
        return _lower_first(exc.strerror)
    if exc.errno is not None and exc.errno > 0:
        # asyncio rewrites strerror ("Connect call failed (...)"): the errno says it plainly.
        return _lower_first(os.strerror(exc.errno))
    return str(exc)


def _one_line(text: str, limit: int = SHOWN_BODY) -> str:
    """``text`` on one line: whitespace runs become one space, other controls ``?``."""
    line = "".join(c if c.isprintable() else "?" for c in " ".join(text.split()))
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _refusal(exc: HandshakeRejected) -> str:
    """``HTTP 403: <the body's text>``, or ``HTTP 404 Not Found`` when the body is not text."""
    content_type = next((v for k, v in exc.headers if k.lower() == "content-type"), "text/plain")
    text = ""
    if content_type.lower().startswith("text/plain"):
        text = _one_line(exc.body.decode("utf-8", "replace"))
    if text:
        return f"HTTP {exc.status}: {text}"
    try:
        return f"HTTP {exc.status} {HTTPStatus(exc.status or 0).phrase}"
    except ValueError:
        return f"HTTP {exc.status}"


# -- argument types: a bad value is a usage error ----------------------------------------


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is out of range 0-65535")
    return port


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number, 0 or more, got {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _path(text: str) -> str:
    if not text.startswith("/"):
        raise argparse.ArgumentTypeError(f"expected a path starting with '/', got {text!r}")
    return text


def _ranged(low: int, high: int) -> Callable[[str], int]:
    """An argument type: a whole number from ``low`` to ``high``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected {low} to {high}, got {text!r}")
        return value

    return parse


def _default_max_connections() -> int:
    """The open-file limit less :data:`FD_RESERVE`; 0 (no limit) where there is none."""
    try:
        import resource
    except ImportError:  # Windows: no such limit
        return 0
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 0
    return max(1, soft - FD_RESERVE)


def _websocket_url(text: str) -> str:
    try:
        parse_uri(text)
    except InvalidURI as exc:
        scheme, sep, rest = text.partition("://")
        guess = {"http": "ws", "https": "wss"}.get(scheme.lower()) if sep else "ws"
        hint = ""
        if guess is not None:
            fixed = f"{guess}://{rest if sep else text}"
            hint = f"; did you mean {fixed!r}?" if _is_websocket_url(fixed) else ""
        raise argparse.ArgumentTypeError(f"{exc}{hint}") from None
    return text


def _is_websocket_url(text: str) -> bool:
    try:
        parse_uri(text)
    except InvalidURI:
        return False
    return True


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line: ``wsproto-core: error: ...``."""

    def error(self, message: str) -> NoReturn:
        """Print ``message`` as one line on standard error and exit with status 2."""
        self.exit(2, f"{PROG}: error: {message}\n")


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """The raw description formatter, with room for the longest command's name.

    argparse measures the commands without the indent it prints them with: a
    long name (``conformance``) would push its help to a line of its own.
    """

    def add_argument(self, action: argparse.Action) -> None:
        """Measure ``action``, and its commands with their indent."""
        super().add_argument(action)
        if not isinstance(action, argparse._SubParsersAction):
            return
        indent = self._current_indent + self._indent_increment
        for command in action._get_subactions():
            length = len(self._format_action_invocation(command)) + indent
            self._action_max_length = max(self._action_max_length, length)


# -- serve ------------------------------------------------------------------------------


def _tls_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    if not args.tls_cert:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(args.tls_cert, args.tls_key)
    except ssl.SSLError as exc:
        why = f"not a PEM certificate and its key ({_tls_reason(exc)})"
    except OSError as exc:
        why = _os_reason(exc)
    else:
        return context
    raise _Failure(f"cannot load the TLS certificate {args.tls_cert} and key {args.tls_key}: {why}")


def _listen_failure(host: str, port: int, exc: OSError) -> _Failure:
    return _Failure(f"cannot listen on {_netloc(host, port)}: {_os_reason(exc)}")


def _compression(args: argparse.Namespace) -> ServerCompression:
    """``serve``'s compression options as the servers' ``compression`` argument."""
    if args.no_compression:
        return None
    from .extensions import ServerPerMessageDeflateFactory

    return ServerPerMessageDeflateFactory(
        server_max_window_bits=args.compression_window_bits,
        client_max_window_bits=args.compression_window_bits,
        compress_threshold=args.compression_threshold,
        compression_level=args.compression_level,
        mem_level=args.compression_mem_level,
    )


def _router(args: argparse.Namespace) -> Router:
    from .examples import demo_router

    return demo_router(
        max_message_size=args.max_message_size,
        allow_draft75=args.allow_draft75,
        hub=_hub(args.broker),
    )


def _hub(broker: str | None) -> Hub | None:
    """The chat room's hub: shared through Redis with ``--broker``, else in-process."""
    if broker is None:
        return None
    try:
        from .redis_hub import RedisHub
    except ImportError as exc:
        raise _Failure(
            f"--broker needs the redis package: pip install 'wsproto-core[redis]' ({exc})", 2
        ) from exc
    hub = RedisHub(broker).start()  # connects (and reconnects) in its own thread
    if not hub.wait_connected(True, _BROKER_WAIT):
        logging.getLogger("wsproto_core.hub").warning(
            "redis hub %s: not reachable yet; serving, the room is local until it is", broker
        )
    return hub


def _announce(host: str, port: int, tls: bool) -> None:
    scheme = "https" if tls else "http"
    print(f"serving on {scheme}://{_netloc(host, port)}/", flush=True)


_STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})
"""What stops ``serve`` gracefully (the workers' supervisor has the same pair)."""
_T = TypeVar("_T")


def _stop_on_signals(stop: threading.Event) -> None:
    for signum in _STOP_SIGNALS:
        signal.signal(signum, lambda *_: stop.set())


def _start_threads_deaf(start: Callable[[], _T]) -> _T:
    """Run ``start`` with SIGINT and SIGTERM blocked: the threads it starts never take them.

    The kernel hands a process's signal to any thread that does not block it. Python
    runs its handler in the main thread, but only once that thread runs again: one
    blocked in ``Event.wait()`` is not woken by a signal another thread took, and
    the server would not stop. Threads inherit the mask of the thread that starts
    them, so every thread started here (and those they start) leaves both signals
    to the main thread. A signal that came meanwhile is taken at the unblocking.
    """
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        return start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def _where(args: argparse.Namespace, listening: Listening | None) -> dict[str, Any]:
    """Either adapter's ``serve`` arguments saying where to listen."""
    if listening is None:
        return {"host": args.host, "port": args.port}
    if listening.sock is None:
        return {"host": args.host, "port": listening.port, "reuse_port": True}
    return {"host": args.host, "port": listening.port, "sock": listening.sock}


def _monitor(args: argparse.Namespace, router: Router, stats: Callable[[], ServerStats]) -> None:
    """``--stats-path``: the JSON endpoint."""
    if args.stats_path:
        router.add_stats_endpoint(args.stats_path, stats)


def _started(
    args: argparse.Namespace, port: int, tls: bool, ready: Callable[[], None] | None
) -> None:
    """Serving: say so (one process), or tell the parent (a worker)."""
    if ready is None:
        _announce(args.host, port, tls)
    else:
        ready()


async def _serve_asyncio(
    args: argparse.Namespace,
    context: ssl.SSLContext | None,
    listening: Listening | None = None,
    ready: Callable[[], None] | None = None,
) -> None:
    from .asyncio import serve

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in _STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    router = _router(args)
    where = _where(args, listening)
    server = serve(
        router,
        **where,
        ssl=context,
        max_connections=args.max_connections or None,
        compression=_compression(args),
    )
    _monitor(args, router, server.stats)
    try:
        await server.start()
    except OSError as exc:
        raise _listen_failure(args.host, where["port"], exc) from exc
    async with server:
        _started(args, server.port, context is not None, ready)
        while True:
            try:
                await asyncio.wait_for(stop.wait(), args.stats_interval)
                break
            except asyncio.TimeoutError:
                logging.info("%s", server.stats().log_line())
        logging.info("shutting down")
    if args.stats_interval:
        logging.info("%s", server.stats().log_line())  # what it served, all closed


def _serve_threads(
    args: argparse.Namespace,
    context: ssl.SSLContext | None,
    listening: Listening | None = None,
    ready: Callable[[], None] | None = None,
) -> None:
    from .sync import Server, serve

    stop = threading.Event()
    _stop_on_signals(stop)

    def start() -> tuple[Server, threading.Thread]:
        router = _router(args)
        where = _where(args, listening)
        try:
            server = serve(
                router,
                **where,
                ssl=context,
                max_connections=args.max_connections or None,
                compression=_compression(args),
            )
        except OSError as exc:
            raise _listen_failure(args.host, where["port"], exc) from exc
        _monitor(args, router, server.stats)
        thread = threading.Thread(target=server.serve_forever, name="wsproto-core-serve")
        thread.start()
        return server, thread

    server, thread = _start_threads_deaf(start)
    _started(args, server.port, context is not None, ready)
    while not stop.wait(args.stats_interval):
        logging.info("%s", server.stats().log_line())
    logging.info("shutting down")
    server.shutdown()
    thread.join()
    if args.stats_interval:
        logging.info("%s", server.stats().log_line())  # what it served, all closed


def _worker(
    args: argparse.Namespace,
    context: ssl.SSLContext | None,
    listening: Listening,
    ready: Callable[[], None],
) -> None:
    """One of ``--workers``, in its own process: serve until SIGTERM."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s [%(process)d] %(message)s", force=True
    )
    try:
        if args.threads:
            _serve_threads(args, context, listening, ready)
        else:
            asyncio.run(_serve_asyncio(args, context, listening, ready))
    except _Failure as failure:
        print(f"{PROG}: error: {failure}", file=sys.stderr)
        sys.exit(failure.status)


def _serve_workers(args: argparse.Namespace, context: ssl.SSLContext | None) -> int:
    """Run ``args.workers`` server processes on one port (see :mod:`wsproto_core._workers`)."""
    from ._workers import WorkerFailed, run_workers

    try:
        return run_workers(
            args.workers,
            functools.partial(_worker, args, context),
            args.host,
            args.port,
            lambda port: _announce(args.host, port, context is not None),
        )
    except OSError as exc:
        raise _listen_failure(args.host, args.port, exc) from exc
    except WorkerFailed as exc:
        raise _Failure(str(exc)) from exc


def _serve(args: argparse.Namespace) -> int:
    if bool(args.tls_cert) != bool(args.tls_key):
        raise _Failure("--tls-cert and --tls-key go together", 2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    context = _tls_context(args)
    try:
        # Each flavour would resolve the host too, but words its failure differently.
        socket.getaddrinfo(args.host, args.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:
        raise _listen_failure(args.host, args.port, exc) from exc
    if args.workers > 1:
        return _serve_workers(args, context)
    if args.threads:
        _serve_threads(args, context)
    else:
        asyncio.run(_serve_asyncio(args, context))
    return 0


# -- connect ----------------------------------------------------------------------------


def _show(message: str | bytes) -> str:
    if isinstance(message, str):
        return message
    return f"<binary {len(message)} bytes: {message.hex(' ')}>"


async def _open(args: argparse.Namespace) -> ClientWebSocket:
    """Connect, or raise :class:`_Failure` saying why not."""
    from .asyncio import connect

    uri = parse_uri(args.url)
    where = _netloc(uri.host, uri.port)
    try:
        return await connect(
            args.url,
            subprotocols=args.subprotocol or (),
            origin=args.origin,
            version=_VERSIONS[args.version],
            open_timeout=OPEN_TIMEOUT,
            compression=None if args.no_compression else "deflate",
        )
    except HandshakeArgumentError as exc:
        raise _Failure(str(exc), 2) from exc
    except HandshakeRejected as exc:
        why = _refusal(exc)
    except InvalidHandshake as exc:
        why = f"invalid handshake from {where}: {exc.reason}"
    except asyncio.TimeoutError:
        why = f"{where}: no handshake within {OPEN_TIMEOUT:g} seconds"
    except OSError as exc:
        why = f"{where}: {_os_reason(exc)}"
    raise _Failure(f"connection failed: {why}")


def _read_lines(loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str | None]) -> None:
    """Standard input, line by line, into ``lines``; ``None`` at its end.

    This runs in a daemon thread: a blocked read never holds up the exit (after
    Ctrl-C, or when the server closed first).
    """
    if isinstance(sys.stdin, io.TextIOWrapper):
        sys.stdin.reconfigure(errors="replace")  # bytes that are not text are sent as U+FFFD
    try:
        while line := sys.stdin.readline():
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, None)
    except RuntimeError:
        return  # the event loop is closed: the command is over


async def _session(ws: ClientWebSocket) -> None:
    """Send standard input's lines, print the replies; close when both are done."""
    from .asyncio import ConnectionClosed

    loop = asyncio.get_running_loop()
    received = 0

    async def print_replies() -> None:
        nonlocal received
        try:
            async for message in ws:
                received += 1
                print(_show(message), flush=True)
        except ConnectionClosed:
            return
        except BrokenPipeError:
            # Whoever read our output is gone (``| head``): stop quietly.
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives until the process exits
            await ws.close()

    printer = loop.create_task(print_replies())
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    threading.Thread(target=_read_lines, args=(loop, lines), daemon=True).start()
    while not printer.done():
        # Wait for a line, or for the server to close first.
        next_line = loop.create_task(lines.get())
        await asyncio.wait((next_line, printer), return_when=asyncio.FIRST_COMPLETED)
        if not next_line.done():
            next_line.cancel()
            break
        line = next_line.result()
        if line is None:
            break
        try:
            await ws.send(line.rstrip("\n"))
        except ConnectionClosed:
            break
    # Standard input ended: close once the replies stop coming for a quiet period
    # (or after MAX_WAIT, for a server that never stops talking).
    seen, waited = -1, 0.0
    while seen != received and not printer.done() and waited < MAX_WAIT:
        seen = received
        await asyncio.sleep(QUIET_PERIOD)
        waited += QUIET_PERIOD
    await ws.close()
    await printer


async def _connect(args: argparse.Namespace) -> int:
    ws = await _open(args)
    extensions = ", ".join(extension.name for extension in ws.extensions) or None
    print(
        f"connected (version {ws.protocol_version}, subprotocol {ws.subprotocol}, "
        f"extensions {extensions})",
        file=sys.stderr,
    )
    try:
        await _session(ws)
    finally:
        await ws.close()  # also after Ctrl-C
    print(f"closed {ws.close_code} {ws.close_reason}".rstrip(), file=sys.stderr)
    return 0


# -- conformance ------------------------------------------------------------------------

VERDICT_COLUMNS = ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED")
"""``conformance``: the summary table's columns, best first."""
SHOWN_REASON = 100
"""``conformance``: the most characters of a case's reason on its line."""
_SERVER: frozenset[Literal["server"]] = frozenset(("server",))


def _patterns(text: str) -> tuple[str, ...]:
    patterns = tuple(part.strip() for part in text.split(",") if part.strip())
    if not patterns:
        raise argparse.ArgumentTypeError(
            f"expected case ids or patterns like 1.*,5.*, got {text!r}"
        )
    return patterns


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _check_conformance(args: argparse.Namespace) -> None:
    """The combinations of ``conformance`` options that make no sense are usage errors."""
    if args.url is not None and args.serve is not None:
        raise _Failure("give a server's URL or --serve PORT, not both", 2)
    if args.url is None and args.serve is None:
        raise _Failure(
            "conformance needs a server's URL (ws://host:port/path) to test it, "
            "or --serve PORT to test clients",
            2,
        )
    if args.serve is None and args.host is not None:
        raise _Failure("--host goes with --serve", 2)
    if args.serve is not None:
        misplaced = [
            name for name in ("timeout", "strict", "quiet", "property") if getattr(args, name)
        ]
        if misplaced:
            raise _Failure(f"--{misplaced[0]} goes with a URL, not with --serve", 2)


def _chosen_cases(args: argparse.Namespace, role: str) -> list[Case]:
    from .testing.catalogue import CatalogueOptions, catalogue, select

    options = CatalogueOptions(scale=args.scale, max_size=args.max_size)
    include, exclude = args.cases or ("*",), args.exclude or ()
    cases = [c for c in select(catalogue(options), include, exclude) if role in c.roles]
    if not cases:
        asked = f"--cases {','.join(include)}" + (
            f" --exclude {','.join(exclude)}" if exclude else ""
        )
        raise _Failure(f"no conformance case for a {role} matches {asked}", 2)
    return cases


def _worst_reason(result: CaseResult) -> str:
    """Why the case got its verdict: the close's reason if that is worse, else the behaviour's."""
    if result.verdict != result.behaviour:
        return result.close_reason
    return result.behaviour_reason


def _print_result(width: int, result: CaseResult) -> None:
    reason = _one_line(_worst_reason(result), SHOWN_REASON)
    print(f"{result.case.id:<{width}}  {result.verdict:<13}  {reason}", flush=True)


def _summary(results: Sequence[CaseResult], seconds: float) -> list[str]:
    """The table of verdicts by family (in the order they were played), a total, the time."""
    counts: dict[str, dict[str, int]] = {}
    for result in results:
        row = counts.setdefault(result.case.family, dict.fromkeys(VERDICT_COLUMNS, 0))
        row[result.verdict] += 1
    total = {v: sum(row[v] for row in counts.values()) for v in VERDICT_COLUMNS}
    width = max(len("family"), *(len(family) for family in counts))
    widths = {v: max(len(v), len(str(total[v]))) for v in VERDICT_COLUMNS}
    lines = ["family".ljust(width) + "".join(f"  {v:>{widths[v]}}" for v in VERDICT_COLUMNS)]
    for family, row in [*counts.items(), ("all", total)]:
        lines.append(
            family.ljust(width) + "".join(f"  {row[v]:>{widths[v]}}" for v in VERDICT_COLUMNS)
        )
    lines.append(f"{len(results)} cases in {seconds:.1f} s")
    return lines


def _write_report(results: Sequence[CaseResult], directory: str, title: str) -> str:
    """``--report``: the HTML and JSON report; the path of its index page."""
    from .testing.report import write_report

    try:
        path = write_report(results, directory, title=title)
    except OSError as exc:
        raise _Failure(f"cannot write the report to {directory}: {_os_reason(exc)}") from exc
    return str(path)


async def _test_server(args: argparse.Namespace, cases: list[Case]) -> list[CaseResult]:
    """Check the server opens a WebSocket connection at all, then play every case against it."""
    from .testing.cases import Case
    from .testing.runner import connect_failure, open_stream, run_case, run_cases

    uri = parse_uri(args.url)
    try:
        _, writer = await open_stream(uri, timeout=args.timeout)
    except (OSError, asyncio.TimeoutError) as exc:
        raise _Failure(connect_failure(uri, exc, args.timeout)) from exc
    writer.close()
    # Not a WebSocket endpoint (a 404, a wrong path): one line, not a FAILED line per case.
    probe = Case("probe", "Open a connection, close it", "A closing handshake", roles=_SERVER)
    opened = await run_case(args.url, probe, timeout=args.timeout)
    if opened.behaviour == "FAILED":
        raise _Failure(f"{args.url}: {opened.behaviour_reason}")
    width = max(len(case.id) for case in cases)
    on_result = None if args.quiet else functools.partial(_print_result, width)
    return await run_cases(args.url, cases, on_result=on_result, timeout=args.timeout)


def _conformance(args: argparse.Namespace) -> int:
    from .testing.engine import DEFAULT_TIMEOUT

    _check_conformance(args)
    if args.serve is not None:
        return _serve_fuzzing(args, _chosen_cases(args, "client"))
    if args.property:
        return _property(args)
    cases = _chosen_cases(args, "server")
    args.timeout = args.timeout or DEFAULT_TIMEOUT
    started = time.monotonic()
    results = asyncio.run(_test_server(args, cases))
    for line in _summary(results, time.monotonic() - started):
        print(line)
    if args.report:
        title = f"WebSocket conformance of {args.url}"
        print(f"report: {_write_report(results, args.report, title)}")
    bad = {"FAILED", "NON-STRICT"} if args.strict else {"FAILED"}
    return 1 if any(result.verdict in bad for result in results) else 0


def _property(args: argparse.Namespace) -> int:
    """``--property N``: N scripts drawn by hypothesis; a failure shrunk and printed."""
    try:
        from .testing.properties import PropertyFailure, check_echo_server
    except ImportError as exc:
        raise _Failure(
            "--property needs hypothesis: pip install 'wsproto-core[testing]'", 2
        ) from exc
    started = time.monotonic()
    try:
        check_echo_server(args.url, examples=args.property, strict=args.strict)
    except PropertyFailure as failure:
        print(f"property FAILED: {failure}")
        return 1
    seconds = time.monotonic() - started
    print(f"property: {args.property} scripts kept every invariant ({seconds:.1f} s)")
    return 0


def _serve_fuzzing(args: argparse.Namespace, cases: list[Case]) -> int:
    """``--serve``: the fuzzing server, for clients to connect to, until SIGINT or SIGTERM."""
    host = args.host or "127.0.0.1"

    def ready(port: int) -> None:
        where = _netloc(host, port)
        print(f"serving {len(cases)} conformance cases for clients on ws://{where}/", flush=True)

    try:
        asyncio.run(_fuzz(host, args.serve, cases, args.report, ready))
    except OSError as exc:
        raise _listen_failure(host, args.serve, exc) from exc
    return 0


async def _fuzz(
    host: str, port: int, cases: list[Case], report: str | None, ready: Callable[[int], None]
) -> None:
    from .testing.fuzzing_server import serve_fuzzing

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in _STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    await serve_fuzzing(host, port, cases, report_dir=report, ready=ready, stop=stop)


# -- demo -------------------------------------------------------------------------------


def _demo(args: argparse.Namespace) -> int:
    from .connection import ClientConnection, ServerConnection
    from .events import Request

    server = ServerConnection()
    client = ClientConnection("ws://example.com/chat", subprotocols=["chat"])

    def carry(frm: Any, to: Any, arrow: str) -> list[Event]:
        data = frm.data_to_send()
        if data:
            print(f"{arrow} {len(data)} bytes")
            for line in (
                data.decode("latin-1") if data[:1].isalpha() else data.hex(" ")
            ).splitlines():
                print(f"    {line}")
        to.receive_data(data)
        events = list(to.events())
        for event in events:
            print(f"    event: {event!r}")
        return events

    print("== opening handshake")
    for event in carry(client, server, "client -> server"):
        if isinstance(event, Request):
            server.accept("chat")
    carry(server, client, "server -> client")
    print("== messages")
    client.send_text("Hello, server")
    carry(client, server, "client -> server")
    server.send_binary(b"\x00\x01\x02")
    carry(server, client, "server -> client")
    client.ping(b"ping")
    carry(client, server, "client -> server")
    carry(server, client, "server -> client")
    print("== closing handshake")
    client.close(1000, "done")
    carry(client, server, "client -> server")
    carry(server, client, "server -> client")
    print(
        f"server: state {server.state.name}, close the TCP stream: {server.should_close_transport}"
    )
    print(f"client: state {client.state.name}")
    return 0


# -- the parser -------------------------------------------------------------------------

_DESCRIPTION = """\
wsproto-core is the command line of wsproto_core, a sans-IO WebSocket library
(RFC 6455 and the hixie drafts): run its demo server, talk to a WebSocket
server from the terminal, watch a client and a server exchange a handshake
and frames in memory, or test any WebSocket server or client for conformance."""

_EPILOG = """\
examples:
  wsproto-core serve                 then open http://127.0.0.1:8765/
  wsproto-core connect ws://127.0.0.1:8765/echo
  wsproto-core connect --subprotocol dumb-increment-protocol \\
      ws://127.0.0.1:8765/dumb-increment
  wsproto-core demo
  wsproto-core conformance --cases 1.*,5.* ws://127.0.0.1:8765/echo

Errors are one line on standard error; the exit status is 2 for a usage error
and 1 for a failure at run time."""

_SERVE = """\
Serve the demo: echo at /echo, dumb-increment at /dumb-increment (with the
dumb-increment-protocol subprotocol) and their pages at /, /echo.html and
/increment.html. One line is logged per connection; SIGINT or SIGTERM closes
every connection with 1001 and exits."""

_CONNECT = """\
Connect to a WebSocket server, send each line of standard input as a text
message and print each message received (binary ones in hex). Once standard
input ends, close when no reply came for half a second (after 5 seconds at
most)."""

_DEMO = """\
Run a client and a server connection in memory and print what they send each
other: the opening handshake, a text and a binary message, a ping and its pong,
and the closing handshake."""


_CONFORMANCE = """\
Test a WebSocket server against RFC 6455 as the Autobahn Testsuite does: the
server at URL must send every message back as it came (an echo endpoint).
Each case runs on a connection of its own, one at a time. A line per case
gives its verdict (OK, NON-STRICT, INFORMATIONAL, UNIMPLEMENTED or FAILED) and
why; then a table counts the verdicts by family. The exit status is 0 when no
case FAILED (nor, with --strict, was NON-STRICT), 1 otherwise.

With --serve PORT, serve the cases for a WebSocket client under test to
connect to, instead of testing a server."""


_BROKER_WAIT = 5.0
"""Seconds ``serve --broker`` waits for Redis before it serves anyway."""


def _broker_url(value: str) -> str:
    if not value.startswith(("redis://", "rediss://", "unix://")):
        raise argparse.ArgumentTypeError(f"not a Redis URL (redis://HOST:PORT/DB): {value!r}")
    return value


def _compression_arguments(serve: argparse.ArgumentParser) -> None:
    group = serve.add_argument_group(
        "compression", "permessage-deflate (RFC 7692), agreed with version 13 clients that offer it"
    )
    group.add_argument(
        "--no-compression", action="store_true", help="never agree permessage-deflate"
    )
    group.add_argument(
        "--compression-level",
        type=_ranged(-1, 9),
        default=-1,
        metavar="N",
        help="zlib's compression level, 0-9; -1 for zlib's default, 6 (default: %(default)s)",
    )
    group.add_argument(
        "--compression-mem-level",
        type=_ranged(1, 9),
        default=5,
        metavar="N",
        help="zlib's memLevel, 1-9: the compressor's memory besides its window "
        "(default: %(default)s)",
    )
    group.add_argument(
        "--compression-window-bits",
        type=_ranged(8, 15),
        default=12,
        metavar="N",
        help="the largest LZ77 window, 2^N bytes, for both directions (when the client "
        "allows it); 8-15 (default: %(default)s)",
    )
    group.add_argument(
        "--compression-threshold",
        type=_count,
        default=0,
        metavar="BYTES",
        help="send messages shorter than this uncompressed (default: %(default)s)",
    )


def _conformance_arguments(conformance: argparse.ArgumentParser) -> None:
    from .testing.catalogue import CatalogueOptions
    from .testing.engine import DEFAULT_TIMEOUT

    conformance.add_argument(
        "url",
        nargs="?",
        type=_websocket_url,
        metavar="URL",
        help="the echo server's ws:// or wss:// URL, e.g. ws://127.0.0.1:8765/echo",
    )
    conformance.add_argument(
        "--cases",
        type=_patterns,
        metavar="PATTERNS",
        help="the cases to run: ids or shell-style patterns, comma-separated, e.g. "
        "1.*,5.*,7.1.1; a bare family (7) stands for its cases (default: all)",
    )
    conformance.add_argument(
        "--exclude",
        type=_patterns,
        metavar="PATTERNS",
        help="leave out the cases these match, e.g. 9.*,12.* (default: none)",
    )
    conformance.add_argument(
        "--report", metavar="DIR", help="write an HTML and JSON report into DIR (default: none)"
    )
    conformance.add_argument(
        "--max-size",
        type=_positive,
        metavar="BYTES",
        help="the testee's maximum message size: adds the limits group, which checks "
        "that a message of this size passes and one byte more fails with 1009 (default: none)",
    )
    conformance.add_argument(
        "--scale",
        type=_fraction,
        default=CatalogueOptions().scale,
        metavar="F",
        help="family 9's message sizes and counts as a fraction of Autobahn's; 1 for "
        "Autobahn's own 16 MiB messages (default: %(default)s)",
    )
    conformance.add_argument(
        "--timeout",
        type=_seconds,
        metavar="S",
        help="seconds to wait for the server wherever a case waits, before giving up "
        f"(default: {DEFAULT_TIMEOUT:g})",
    )
    conformance.add_argument(
        "--strict",
        action="store_true",
        help="a NON-STRICT verdict fails the run too (exit status 1)",
    )
    conformance.add_argument(
        "--quiet", action="store_true", help="print only the summary, not a line per case"
    )
    conformance.add_argument(
        "--property",
        type=_positive,
        metavar="N",
        help="the property mode instead of the catalogue: N scripts drawn by hypothesis "
        "(messages in fragments, pings, chops, pauses, a broken frame), each echoed and "
        "closed as RFC 6455 requires; a failure is shrunk and printed (needs hypothesis)",
    )
    conformance.add_argument(
        "--serve",
        type=_port,
        metavar="PORT",
        help="test clients instead: serve the cases on PORT (0 picks a free one) for the "
        "client under test to connect to",
    )
    conformance.add_argument(
        "--host", help="with --serve: the address to listen on (default: 127.0.0.1)"
    )


def _parser() -> argparse.ArgumentParser:
    raw = _HelpFormatter
    parser = _Parser(prog=PROG, description=_DESCRIPTION, epilog=_EPILOG, formatter_class=raw)
    commands = parser.add_subparsers(
        dest="command",
        metavar="COMMAND",
        title="commands",
        help=f"one of these; '{PROG} COMMAND --help' tells more",
    )

    serve = commands.add_parser(
        "serve", help="run the demo server (echo, dumb-increment, pages)", description=_SERVE
    )
    serve.formatter_class = raw
    serve.add_argument(
        "--host", default="127.0.0.1", help="the address to listen on (default: %(default)s)"
    )
    serve.add_argument(
        "--port",
        type=_port,
        default=8765,
        help="the port to listen on; 0 picks a free one (default: %(default)s)",
    )
    serve.add_argument(
        "--max-message-size",
        type=_positive,
        default=DEFAULT_MAX_MESSAGE_SIZE,
        metavar="BYTES",
        help="the largest message accepted; a bigger one closes the connection with 1009 "
        f"(default: %(default)s, {DEFAULT_MAX_MESSAGE_SIZE / 2**20:g} MiB)",
    )
    serve.add_argument(
        "--max-connections",
        type=_count,
        default=_default_max_connections(),
        metavar="N",
        help="the most connections open at once (per process); one more is answered "
        "503 Service Unavailable with Retry-After; 0 for no limit (default: %(default)s, "
        f"the open-file limit less {FD_RESERVE})",
    )
    serve.add_argument(
        "--allow-draft75", action="store_true", help="serve draft-hixie-75 clients too"
    )
    serve.add_argument(
        "--threads",
        action="store_true",
        help="use the threading adapter (a thread per connection) instead of asyncio",
    )
    serve.add_argument(
        "--workers",
        type=_positive,
        default=1,
        metavar="N",
        help="run N server processes (asyncio, or --threads) sharing the port; SIGTERM "
        "or SIGINT stops them all gracefully; one that dies stops the others, exit "
        "status 1 (default: %(default)s)",
    )
    serve.add_argument(
        "--stats-interval",
        type=_seconds,
        metavar="S",
        help="log a line of statistics every S seconds (each worker its own, with its "
        "pid), and one more at shutdown (default: never)",
    )
    serve.add_argument(
        "--stats-path",
        type=_path,
        metavar="PATH",
        help="answer a plain HTTP GET of PATH (e.g. /stats) with the server's "
        "statistics as JSON, for monitoring (default: no such endpoint)",
    )
    serve.add_argument(
        "--tls-cert",
        metavar="FILE",
        help="serve wss:// (and the pages over https://) with this PEM certificate chain",
    )
    serve.add_argument("--tls-key", metavar="FILE", help="the PEM private key of --tls-cert")
    serve.add_argument(
        "--broker",
        type=_broker_url,
        metavar="URL",
        help="share the /chat room with every server using this Redis (redis://HOST:PORT/DB; "
        "needs the [redis] extra); default: in this process",
    )
    _compression_arguments(serve)

    connect = commands.add_parser(
        "connect", help="talk to a WebSocket server from the terminal", description=_CONNECT
    )
    connect.formatter_class = raw
    connect.add_argument(
        "url", type=_websocket_url, help="the ws:// or wss:// URL, e.g. ws://127.0.0.1:8765/echo"
    )
    connect.add_argument(
        "--subprotocol",
        action="append",
        metavar="NAME",
        help="offer this subprotocol (repeat to offer several, in preference order)",
    )
    connect.add_argument(
        "--origin", help="send this Origin header, e.g. http://example.com (default: none)"
    )
    connect.add_argument(
        "--version",
        default="13",
        choices=_VERSIONS,
        help="the protocol: RFC 6455 (13), its drafts 8 and 7, or a hixie draft "
        "(default: %(default)s)",
    )
    connect.add_argument(
        "--no-compression",
        action="store_true",
        help="do not offer permessage-deflate (offered by default, version 13 only)",
    )

    demo = commands.add_parser(
        "demo", help="a client and a server talking in memory", description=_DEMO
    )
    demo.formatter_class = raw

    conformance = commands.add_parser(
        "conformance",
        help="test a WebSocket server (or, with --serve, a client)",
        description=_CONFORMANCE,
    )
    conformance.formatter_class = raw
    _conformance_arguments(conformance)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Raises:
        SystemExit: For ``--help`` (status 0) and for a usage error (status 2,
            after the one-line error): a bad option, option value or URL.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.error(
            f"a command is needed: serve, connect, demo or conformance (see '{PROG} --help')"
        )
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "connect":
            return asyncio.run(_connect(args))
        if args.command == "conformance":
            return _conformance(args)
        return _demo(args)
    except _Failure as failure:
        if failure.status == 2:
            parser.error(str(failure))
        print(f"{PROG}: error: {failure}", file=sys.stderr)
        return failure.status
    except KeyboardInterrupt:
        return 130  # Ctrl-C: 128 + SIGINT, as shells report it


if __name__ == "__main__":
    sys.exit(main())
