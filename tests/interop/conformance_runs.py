"""Play the conformance kit against the independent testees, one process per job.

Used by ``test_interop_conformance.py``: each testee is one job (an echo server and
the kit's runner, or a fuzzing server and the testee client), and the jobs run in
processes of their own so that the kit's work spreads over the machine's cores. A job starts
its peers, plays every case, stops its peers, and returns the verdicts.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from interop_harness import HERE, STARTUP_TIMEOUT, PeerProcess

from wsproto_core.testing.catalogue import CatalogueOptions, catalogue
from wsproto_core.testing.fuzzing_server import FuzzingServer
from wsproto_core.testing.runner import run_case, server_cases

if TYPE_CHECKING:
    from collections.abc import Awaitable, Sequence

    from wsproto_core.testing.cases import Case
    from wsproto_core.testing.engine import CaseResult

CASES_AT_ONCE = 6
"""Connections a server testee gets at once, each playing its own case."""
CLIENT_SLICES = 6
"""Client processes per client testee, each running a contiguous share of the cases."""
CONNECT_TRIES = 3
"""Tries at a case whose connection could not be made (a loaded machine can take longer
to accept than the kit's 2 s): that says nothing of the testee's conformance."""
RUN_TIMEOUT = 300.0
"""Seconds a client process may take for its share: a safety net, not a measure."""

SERVERS: dict[str, list[str]] = {
    "websockets server": [sys.executable, str(HERE / "echo_peers.py"), "websockets"],
    "wsproto server": [sys.executable, str(HERE / "echo_peers.py"), "wsproto"],
    "ws server": ["node", str(HERE / "ws_echo.mjs")],
}
CLIENTS = ("websockets client", "ws client")
TESTEES = (*SERVERS, *CLIENTS)


@dataclass(frozen=True)
class Verdict:
    """One case's outcome: its verdict and why."""

    case: str
    verdict: str
    reason: str


def _verdict(result: CaseResult) -> Verdict:
    # The reason for the worse of the two judgements, as the CLI shows it.
    reason = result.close_reason if result.verdict != result.behaviour else result.behaviour_reason
    return Verdict(result.case.id, result.verdict, reason)


def _unreachable(result: CaseResult) -> bool:
    """Whether the case failed for want of a TCP connection (the runner's own verdict for it)."""
    return result.verdict == "FAILED" and result.behaviour_reason.startswith("cannot connect")


def _client_argv(testee: str, url: str, first: int, last: int) -> list[str]:
    if testee == "websockets client":
        script = str(HERE / "fuzzing_client_websockets.py")
        return [sys.executable, script, url, testee, str(first), str(last)]
    spec = {"url": url, "agent": testee, "first": first, "last": last}
    return ["node", str(HERE / "fuzzing_client.mjs"), json.dumps(spec)]


class Runs:
    """Runs testees on one event loop; :meth:`stop` stops the processes it started.

    Args:
        log_dir: Where every peer process logs.
    """

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.processes: list[PeerProcess] = []
        self.verdicts: dict[str, list[Verdict]] = {}
        self.seconds: dict[str, float] = {}

    def start(self, name: str, argv: Sequence[str]) -> PeerProcess:
        process = PeerProcess(name, argv, self.log_dir / f"{name}.log", cwd=HERE)
        self.processes.append(process)
        return process

    async def server(self, testee: str, cases: Sequence[Case]) -> list[Verdict]:
        """Start the echo server, then play ``cases`` against it, several at a time."""
        process = self.start(testee.replace(" ", "-"), SERVERS[testee])
        listening = await asyncio.to_thread(process.next_json, STARTUP_TIMEOUT)
        url = f"ws://127.0.0.1:{listening['listening']}/"
        slots = asyncio.Semaphore(CASES_AT_ONCE)

        async def play(case: Case) -> Verdict:
            async with slots:
                for _ in range(CONNECT_TRIES - 1):
                    result = await run_case(url, case)
                    if not _unreachable(result):
                        return _verdict(result)
                return _verdict(await run_case(url, case))

        return list(await asyncio.gather(*(play(case) for case in cases)))

    async def client(self, testee: str, fuzzing: FuzzingServer, url: str) -> list[Verdict]:
        """Run the client in :data:`CLIENT_SLICES` processes, each with its share of the cases."""
        count = len(fuzzing.cases)
        size = -(-count // CLIENT_SLICES)
        processes = [
            self.start(
                f"{testee.replace(' ', '-')}-{first}",
                _client_argv(testee, url, first, min(first + size - 1, count)),
            )
            for first in range(1, count + 1, size)
        ]
        outputs = await asyncio.gather(
            *(asyncio.to_thread(process.next_json, RUN_TIMEOUT) for process in processes)
        )
        for process, output in zip(processes, outputs, strict=True):
            assert "result" in output, f"{process.name}: {output.get('error', output)}"
        return [_verdict(result) for result in fuzzing.results(testee)]

    async def timed(self, testee: str, run: Awaitable[list[Verdict]]) -> list[Verdict]:
        """Await ``run``, keeping how long it took in :attr:`seconds`."""
        started = time.monotonic()
        try:
            return await run
        finally:
            self.seconds[testee] = time.monotonic() - started

    def stop(self) -> None:
        """Stop every process started."""
        for process in self.processes:
            process.stop()

    @property
    def log_files(self) -> tuple[Path, ...]:
        """The logs to show when a test fails."""
        return tuple(process.log_path for process in self.processes)


Outcome = tuple[dict[str, list[Verdict]], dict[str, float], list[str]]
"""What a job returns: verdicts and seconds by testee, and the log files of its processes."""


def server_job(testee: str, log_dir: str) -> Outcome:
    """Start ``testee``'s echo server and play every server case against it."""
    runs = Runs(Path(log_dir))

    async def play() -> list[Verdict]:
        return await runs.timed(testee, runs.server(testee, server_cases()))

    try:
        verdicts = asyncio.run(play())
    finally:
        runs.stop()
    return {testee: verdicts}, runs.seconds, [str(path) for path in runs.log_files]


def client_job(testee: str, log_dir: str) -> Outcome:
    """Serve every client case on a fuzzing server of its own; run ``testee`` against it."""
    runs = Runs(Path(log_dir))

    async def play() -> list[Verdict]:
        cases = [case for case in catalogue(CatalogueOptions()) if "client" in case.roles]
        fuzzing = FuzzingServer(cases)
        stop = asyncio.Event()
        port: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        serving = asyncio.create_task(
            fuzzing.serve("127.0.0.1", 0, ready=port.set_result, stop=stop)
        )
        try:
            url = f"ws://127.0.0.1:{await port}"
            return await runs.timed(testee, runs.client(testee, fuzzing, url))
        finally:
            stop.set()
            await serving

    try:
        verdicts = asyncio.run(play())
    finally:
        runs.stop()
    return {testee: verdicts}, runs.seconds, [str(path) for path in runs.log_files]
