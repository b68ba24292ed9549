"""A fuzzing server: test WebSocket *clients* the way the Autobahn Testsuite does.

It speaks the protocol of Autobahn's ``wstest -m fuzzingserver``, so a testee
client written for Autobahn runs against it unchanged. The testee is an echo
client; it drives the run itself, one WebSocket connection per step:

``/getCaseCount``
    The server sends one text message, the number of cases (JSON, e.g. ``42``),
    and closes with 1000.
``/runCase?case=N&agent=NAME``
    The server plays case ``N`` (1-based, over the cases that apply to a
    client, in catalogue order) as the testee's peer and judges it; the testee
    echoes every message until the connection closes. ``casetuple=5.19``
    names a case by its id instead of ``case``.
``/getCaseInfo?case=N``
    One text message, ``{"id": ..., "description": ..., "expectation": ...}``, then 1000.
``/getCaseStatus?case=N&agent=NAME``
    Once that agent has run case ``N`` (it waits, as Autobahn does), one text
    message ``{"behavior": ..., "behaviorClose": ..., "result": ..., "resultClose": ...}``
    with the verdicts and why, then 1000.
``/updateReports?agent=NAME``
    Writes the agent's report (see :func:`wsproto_core.testing.report.write_report`)
    under ``report_dir/<agent>/`` if the server has a ``report_dir``, then
    closes with 1000 (1011 if the report could not be written).

A missing or invalid parameter gets HTTP 400, a case number out of range and
any other path HTTP 404, a plain HTTP request to one of these paths HTTP 426.
Autobahn's direct command mode and ``/stopServer`` are not offered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from ..connection import ServerConnection
from ..events import HTTPRequest, Request
from ..state import TransportAction
from .engine import DEFAULT_TIMEOUT, CaseRun
from .network import READ_SIZE, drive, start_server

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ..events import Event
    from .cases import Case
    from .engine import CaseResult

__all__ = ["FuzzingServer", "serve_fuzzing"]

logger = logging.getLogger(__name__)

_HEAD_END = b"\r\n\r\n"
_CONTROL_PATHS = frozenset(("/getCaseCount", "/getCaseInfo", "/getCaseStatus", "/updateReports"))


class _BadRequest(Exception):
    """A request the fuzzing server answers with an HTTP error status."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class FuzzingServer:
    """The state of one fuzzing server: its cases and every agent's results.

    Args:
        cases: The catalogue; only the cases whose ``roles`` include ``"client"``
            are offered, in the order given.
        report_dir: Where ``/updateReports`` writes each agent's report (in a
            subdirectory named for the agent), or ``None`` for no reports.
        timeout: Seconds the peer waits, at each point where it waits, before
            giving up (a case's own ``timeout`` comes first); also the time a
            testee has to send its opening handshake and to finish a closing one.
    """

    def __init__(
        self,
        cases: Sequence[Case],
        *,
        report_dir: str | Path | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.cases: list[Case] = [case for case in cases if "client" in case.roles]
        self.report_dir = None if report_dir is None else Path(report_dir)
        self.timeout = timeout
        self._results: dict[str, dict[str, CaseResult]] = {}
        self._recorded: asyncio.Condition | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- results -----------------------------------------------------------------

    def agents(self) -> list[str]:
        """The agents that ran at least one case, in the order they first did."""
        return list(self._results)

    def results(self, agent: str) -> list[CaseResult]:
        """The agent's latest result for each case it ran, in catalogue order."""
        by_id = self._results.get(agent, {})
        return [by_id[case.id] for case in self.cases if case.id in by_id]

    def result(self, agent: str, case_id: str) -> CaseResult | None:
        """The agent's latest result for the case ``case_id``, if it ran it."""
        return self._results.get(agent, {}).get(case_id)

    async def _record(self, agent: str, result: CaseResult) -> None:
        self._results.setdefault(agent, {})[result.case.id] = result
        logger.info(
            "case %s for agent %s: %s (%s; close: %s)",
            result.case.id,
            agent,
            result.verdict,
            result.behaviour_reason,
            result.close_reason,
        )
        condition = self._condition()
        async with condition:
            condition.notify_all()

    async def _wait_result(self, agent: str, case_id: str) -> CaseResult:
        condition = self._condition()
        async with condition:
            while (result := self.result(agent, case_id)) is None:
                await condition.wait()
        return result

    def _condition(self) -> asyncio.Condition:
        if self._recorded is None:
            self._recorded = asyncio.Condition()
        return self._recorded

    # -- serving -----------------------------------------------------------------

    async def serve(
        self,
        host: str,
        port: int,
        *,
        ready: Callable[[int], None] | None = None,
        stop: asyncio.Event | None = None,
    ) -> None:
        """Listen on ``host`` and ``port`` until ``stop`` is set or the task is cancelled.

        Args:
            host: The address to listen on (``"127.0.0.1"``, ``"localhost"``, ``""`` for all).
            port: The TCP port, ``0`` for any free one.
            ready: Called with the port once the server listens.
            stop: Set it to stop the server; connections still open are cut.
        """
        server = await _listen(self._accept, host, port)
        try:
            if ready is not None:
                ready(server.sockets[0].getsockname()[1])
            if stop is None:
                await asyncio.get_running_loop().create_future()
            else:
                await stop.wait()
        finally:
            server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await server.wait_closed()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(self.handle(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection: read its request, then run a case or answer a command.

        The stream is closed at the end, also when the server stops meanwhile.
        """
        try:
            await self._serve_connection(reader, writer)
        finally:
            writer.close()

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(_HEAD_END), self.timeout)
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        except (ConnectionError, OSError):  # pragma: no cover (a reset before the request)
            return
        path, params = _target(head)
        if path != "/runCase":
            await self._command(path, params, head, reader, writer)
            return
        try:
            case, agent = self._run_case_params(params)
        except _BadRequest as error:
            await self._refuse(head, error, reader, writer)
            return
        await self._run_case(case, agent, head, reader, writer)

    # -- /runCase ----------------------------------------------------------------

    def _run_case_params(self, params: dict[str, list[str]]) -> tuple[Case, str]:
        case = self._case_param(params)
        return case, _agent_param(params)

    def _case_param(self, params: dict[str, list[str]]) -> Case:
        """The case named by ``case`` (1-based number) or ``casetuple`` (id)."""
        if "casetuple" in params:
            wanted = _single(params, "casetuple").strip()
            for case in self.cases:
                if case.id == wanted:
                    return case
            raise _BadRequest(404, f"no case {wanted}")
        number = _single(params, "case")
        if not number.isdigit():
            raise _BadRequest(400, f"invalid case number {number!r}")
        index = int(number)
        if not 1 <= index <= len(self.cases):
            raise _BadRequest(404, f"no case {index}: the cases are 1 to {len(self.cases)}")
        return self.cases[index - 1]

    async def _run_case(
        self,
        case: Case,
        agent: str,
        head: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        logger.info("running case %s for agent %s", case.id, agent)
        # A case run again: a getCaseStatus from now on waits for this run's result.
        self._results.get(agent, {}).pop(case.id, None)
        run = CaseRun(case, "client", timeout=self.timeout)
        run.start()
        run.receive_data(head)
        await drive(run, reader, writer)
        await self._record(agent, run.result())

    # -- the commands ------------------------------------------------------------

    async def _command(
        self,
        path: str,
        params: dict[str, list[str]],
        head: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        conn = ServerConnection(accept_plain_http=True)
        request = await self._request(conn, head, reader)
        if request is None:
            return
        if isinstance(request, Request) and path in _CONTROL_PATHS:
            try:
                message = self._check_command(path, params)
            except _BadRequest as error:
                conn.reject(error.status, _TEXT, error.reason.encode())
            else:
                conn.accept()
                await _flush(conn, writer)  # the 101 first: a status may wait long
                await self._answer(conn, path, params, message)
        elif isinstance(request, (Request, HTTPRequest)):
            _refuse_unknown(conn, path, isinstance(request, HTTPRequest))
        await self._finish(conn, reader, writer)

    def _check_command(self, path: str, params: dict[str, list[str]]) -> str | None:
        """Check the parameters of a command; return its message if it needs no waiting."""
        if path == "/getCaseCount":
            return json.dumps(len(self.cases))
        if path == "/getCaseInfo":
            case = self._case_param(params)
            return json.dumps(
                {"id": case.id, "description": case.description, "expectation": case.expectation}
            )
        if path == "/getCaseStatus":
            self._case_param(params)
        _agent_param(params)
        return None

    async def _answer(
        self,
        conn: ServerConnection,
        path: str,
        params: dict[str, list[str]],
        message: str | None,
    ) -> None:
        code, reason = 1000, ""
        if path == "/getCaseStatus":
            case = self._case_param(params)
            message = _status(await self._wait_result(_agent_param(params), case.id))
        elif path == "/updateReports":
            code, reason = await self._update_reports(_agent_param(params))
        if message is not None:
            conn.send_text(message)
        conn.close(code, reason)

    async def _update_reports(self, agent: str) -> tuple[int, str]:
        """Write the agent's report; the close code and reason that say how it went."""
        if self.report_dir is None:
            return 1000, ""
        from .report import write_report  # type: ignore[import-not-found, unused-ignore]

        directory = self.report_dir / _slug(agent)
        title = f"WebSocket client conformance: {agent}"
        try:
            path = await asyncio.to_thread(
                write_report, self.results(agent), str(directory), title=title
            )
        except Exception as error:
            logger.exception("the report for agent %s could not be written", agent)
            # A close reason fits in 123 bytes of UTF-8 (RFC 6455 §5.5.1).
            reason = f"no report: {error}".encode()[:120].decode(errors="ignore")
            return 1011, reason
        logger.info("report for agent %s: %s", agent, path)
        return 1000, ""

    async def _refuse(
        self,
        head: bytes,
        error: _BadRequest,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        conn = ServerConnection(accept_plain_http=True)
        request = await self._request(conn, head, reader)
        if request is None:
            return
        if isinstance(request, (Request, HTTPRequest)):
            conn.reject(error.status, _TEXT, error.reason.encode())
        await self._finish(conn, reader, writer)

    async def _request(
        self, conn: ServerConnection, head: bytes, reader: asyncio.StreamReader
    ) -> Event | None:
        """Feed ``head`` to ``conn``, and what follows if it needs more (hixie-76's key3).

        Returns:
            The first event, or ``None`` if the client sent nothing more in time.
        """
        conn.receive_data(head)
        while True:
            event = next(iter(conn.events()), None)
            if event is not None or conn.should_close_transport:
                return event
            try:
                data = await asyncio.wait_for(reader.read(READ_SIZE), self.timeout)
            except (asyncio.TimeoutError, ConnectionError, OSError):
                return None
            conn.receive_data(data)

    async def _finish(
        self, conn: ServerConnection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Write what ``conn`` owes and read until it is done, then close the stream."""
        try:
            while True:
                out = conn.data_to_send()
                if out:
                    writer.write(out)
                    await writer.drain()
                if conn.should_close_transport:
                    break
                try:
                    data = await asyncio.wait_for(reader.read(READ_SIZE), self.timeout)
                except asyncio.TimeoutError:
                    conn.expire()
                    if conn.transport_action is TransportAction.NONE:
                        break  # nothing left to wait for
                else:
                    conn.receive_data(data)
                for _ in conn.events():
                    pass
        except (ConnectionError, OSError):
            pass
        finally:
            await _close(writer)


async def serve_fuzzing(
    host: str,
    port: int,
    cases: Sequence[Case],
    *,
    report_dir: str | None = None,
    ready: Callable[[int], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run a fuzzing server for WebSocket clients until ``stop`` is set or the task is cancelled.

    A testee client written for the Autobahn Testsuite's fuzzing server works
    unchanged: see :mod:`wsproto_core.testing.fuzzing_server` for the protocol.

    Args:
        host: The address to listen on.
        port: The TCP port, ``0`` for any free one.
        cases: The catalogue; the cases that apply to a client are offered.
        report_dir: Where ``/updateReports`` writes each agent's report, or ``None``.
        ready: Called with the port once the server listens.
        stop: Set it to stop the server.
    """
    server = FuzzingServer(cases, report_dir=report_dir)
    await server.serve(host, port, ready=ready, stop=stop)


_TEXT = (("Content-Type", "text/plain; charset=utf-8"),)


def _target(head: bytes) -> tuple[str, dict[str, list[str]]]:
    """The path and query parameters of a request head (``""`` if it has no request line)."""
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    if len(parts) != 3:
        return "", {}
    target = urlsplit(parts[1])
    return target.path, parse_qs(target.query, keep_blank_values=True)


def _single(params: dict[str, list[str]], name: str) -> str:
    values = params.get(name)
    if not values:
        raise _BadRequest(400, f"missing parameter {name}")
    if len(values) > 1:
        raise _BadRequest(400, f"parameter {name} given {len(values)} times")
    return values[0]


def _agent_param(params: dict[str, list[str]]) -> str:
    agent = _single(params, "agent")
    if not agent:
        raise _BadRequest(400, "empty agent")
    return agent


def _status(result: CaseResult) -> str:
    """``/getCaseStatus``'s message: Autobahn's keys, our verdicts and reasons."""
    return json.dumps(
        {
            "behavior": result.behaviour,
            "behaviorClose": result.close_behaviour,
            "result": result.behaviour_reason,
            "resultClose": result.close_reason,
        }
    )


def _refuse_unknown(conn: ServerConnection, path: str, plain: bool) -> None:
    if plain and (path in _CONTROL_PATHS or path == "/runCase"):
        conn.reject(426, (("Upgrade", "websocket"), *_TEXT), b"a WebSocket endpoint\n")
    else:
        conn.reject(404, _TEXT, f"no such endpoint: {path}\n".encode())


def _slug(agent: str) -> str:
    """The agent's name as a directory name: letters, digits, ``.``, ``_`` and ``-``."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", agent).strip("._") or "agent"
    return slug[:100]


async def _listen(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], None], host: str, port: int
) -> asyncio.Server:
    """Listen on every address of ``host``, all on the same port even when ``port`` is 0."""
    server = await start_server(handler, host, port)
    ports = {sock.getsockname()[1] for sock in server.sockets}
    if len(ports) > 1:
        # Port 0 on several addresses (localhost: 127.0.0.1 and ::1): each got its own.
        chosen = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        server = await start_server(handler, host, chosen)
    return server


async def _flush(conn: ServerConnection, writer: asyncio.StreamWriter) -> None:
    writer.write(conn.data_to_send())
    with contextlib.suppress(ConnectionError, OSError):
        await writer.drain()


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError, OSError):
        await writer.wait_closed()
