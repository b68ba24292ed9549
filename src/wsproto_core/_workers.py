"""Several server processes on one port, and the parent that supervises them.

What ``serve --workers N`` runs, for either adapter: the parent forks N workers,
each runs its own server (asyncio or threads) on the same port, and the kernel
spreads the connections over them.

Sharing the port, two ways:

* ``SO_REUSEPORT`` where the system has it (Linux, the BSDs, macOS): each worker
  binds a listening socket of its own to the port, and the kernel balances new
  connections across them. The parent binds one too, without listening, to
  hold the port (``--port 0`` then gives every worker the same one).
* Else one listening socket, made by the parent before it forks and inherited by
  every worker; they all accept on it. Setting the environment variable
  :data:`NO_REUSEPORT_ENV` to ``1`` forces this way (the tests use it).

Signals: SIGTERM or SIGINT to the parent is passed on as SIGTERM to every worker,
which shuts down gracefully (1001 to each client, after the replies to what it
had read), and the parent exits once they all have: 0 if each exited 0.

A worker that dies while the others serve (killed, crashed) is logged, the others
are shut down gracefully, and the parent exits 1: nothing is restarted here. A
crash loop would hide behind restarts; a supervisor (systemd's
``Restart=on-failure``, a container's restart policy) restarts the whole with
its own limits and backoff, and one process tree per service stays simple.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

__all__ = ["NO_REUSEPORT_ENV", "Listening", "WorkerFailed", "run_workers"]

logger = logging.getLogger("wsproto_core.workers")

NO_REUSEPORT_ENV = "WSPROTO_CORE_NO_REUSEPORT"
"""Set to ``1`` to share one inherited listening socket even where ``SO_REUSEPORT`` exists."""

_STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


@dataclass(frozen=True)
class Listening:
    """How a worker gets its listening socket.

    Attributes:
        port: The port every worker serves.
        sock: The listening socket inherited from the parent, or ``None``: bind one
            of your own to ``port`` with ``SO_REUSEPORT``.
    """

    port: int
    sock: socket.socket | None


class WorkerFailed(Exception):
    """A worker exited before every worker was serving (it logged why)."""


def reuse_port_available() -> bool:
    """Whether workers bind their own sockets with ``SO_REUSEPORT`` (see the module docstring)."""
    return hasattr(socket, "SO_REUSEPORT") and os.environ.get(NO_REUSEPORT_ENV) != "1"


def _listen(host: str, port: int) -> tuple[socket.socket, Listening]:
    """The parent's socket (kept open while it runs) and what the workers get."""
    info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, _, _, _, address = info[0]
    if not reuse_port_available():
        shared = socket.create_server(address, family=family, backlog=1024)
        return shared, Listening(shared.getsockname()[1], shared)
    reserve = socket.socket(family, socket.SOCK_STREAM)
    try:
        reserve.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        reserve.bind(address)
    except BaseException:
        reserve.close()
        raise
    return reserve, Listening(reserve.getsockname()[1], None)


def _exit_status(process: BaseProcess) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit status {code}"


def _start(
    fork: multiprocessing.context.ForkContext,
    target: Callable[[Listening, Callable[[], None]], None],
    listening: Listening,
) -> tuple[BaseProcess, Connection]:
    """Fork one worker; the pipe's end says when it serves."""
    reader, writer = fork.Pipe(duplex=False)

    def run() -> None:
        reader.close()

        def ready() -> None:
            # Its own signal handlers are set: let SIGTERM and SIGINT in (see run_workers).
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
            writer.send(os.getpid())
            writer.close()

        target(listening, ready)

    process = fork.Process(target=run, name="wsproto-core-worker")
    process.start()
    writer.close()
    return process, reader


def run_workers(
    count: int,
    target: Callable[[Listening, Callable[[], None]], None],
    host: str,
    port: int,
    serving: Callable[[int], None],
) -> int:
    """Run ``count`` workers on ``host:port`` until SIGTERM or SIGINT; return the exit status.

    Args:
        count: How many worker processes.
        target: What each worker runs (in the forked process): serve on the
            :class:`Listening` socket, call the second argument once serving,
            with its SIGTERM and SIGINT handlers set (signals are blocked in the
            worker until then), and return after a graceful shutdown on SIGTERM.
        host: The address to listen on.
        port: The port (0 picks one, the same for every worker).
        serving: Called in the parent with the port once every worker serves.

    Returns:
        0 when every worker shut down cleanly after SIGTERM or SIGINT; 1 when one
        died on its own (the others are shut down first). After a stop signal,
        SIGTERM and SIGINT stay ignored: the caller is expected to exit.

    Raises:
        OSError: The port cannot be bound.
        WorkerFailed: A worker exited before all were serving.
    """
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    stop_requested = []

    def on_signal(signum: int, _frame: object) -> None:
        stop_requested.append(signum)
        with contextlib.suppress(OSError):  # the pipe is full: it says "stop" already
            os.write(wake_w, b"\0")

    # Blocked while forking: a worker inherits the mask and lets them in once its own
    # handlers are set (ready()), so none is lost or kills a half-started worker.
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    previous = {signum: signal.signal(signum, on_signal) for signum in _STOP_SIGNALS}
    try:
        reserve, listening = _listen(host, port)
        with reserve:
            fork = multiprocessing.get_context("fork")
            workers = [_start(fork, target, listening) for _ in range(count)]
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
            status = _supervise(workers, wake_r, stop_requested, lambda: serving(listening.port))
    finally:
        # After a stop signal the process is on its way out: a second Ctrl-C arriving
        # once the workers are gone must not turn a clean exit into a KeyboardInterrupt.
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_IGN if stop_requested else handler)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        os.close(wake_r)
        os.close(wake_w)
    return status


def _supervise(
    workers: list[tuple[BaseProcess, Connection]],
    wake: int,
    stop_requested: list[int],
    serving: Callable[[], None],
) -> int:
    """Wait for a stop signal or a worker's death, then stop every worker and wait for them."""
    processes = {process.sentinel: process for process, _ in workers}
    starting = {reader: process for process, reader in workers}
    died: BaseProcess | None = None
    while died is None and not stop_requested:
        for ready in wait([wake, *processes, *starting]):
            if ready in starting:
                with contextlib.suppress(EOFError):  # it died first: its sentinel says so
                    ready.recv()
                    del starting[ready]
                    if not starting:
                        serving()
            elif ready in processes:
                died = processes[ready]
    if died is not None:
        died.join()  # reaped: its exit status is known
    if died is not None and not starting:
        logger.error("worker %s died (%s): stopping the others", died.pid, _exit_status(died))
    for process, reader in workers:
        reader.close()
        if process.pid is not None and process.exitcode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
    for process, _ in workers:
        process.join()
    if died is not None and starting:
        raise WorkerFailed(f"worker {died.pid} failed to start ({_exit_status(died)})")
    if died is not None:
        return 1
    failed = [p for p, _ in workers if p.exitcode != 0]
    for process in failed:
        logger.error("worker %s ended with %s", process.pid, _exit_status(process))
    return 1 if failed else 0
