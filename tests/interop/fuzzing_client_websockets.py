"""websockets' asyncio client as the testee of our fuzzing server, as Autobahn testee clients are.

Usage: ``python fuzzing_client_websockets.py URL AGENT [FIRST LAST]``. It asks
``URL/getCaseCount``, then opens ``URL/runCase?case=N&agent=AGENT`` for every case (or
for cases FIRST to LAST, 1-based, so that several clients can share them) and echoes
each message with its type until the server closes, then asks
``URL/updateReports?agent=AGENT``.
It prints one JSON line, ``{"result": {"count", "cases": [{"case", "code", "reason",
"error"}], "report": {...}}}`` with what websockets saw of each connection's end, or
``{"error": "..."}``; it exits 0 either way.

The client is opened with ``max_size=None``, as Autobahn's testee clients are: with
websockets' default (1 MiB) the large messages of family 9 would end in 1009 instead of
being echoed, which says nothing about conformance.
"""

from __future__ import annotations

import asyncio
import json
import sys
import traceback
from typing import Any
from urllib.parse import quote

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake


async def session(url: str, *, echo: bool) -> dict[str, Any]:
    """One connection to ``url``: the messages it got and how it ended."""
    messages: list[str | None] = []
    error = None
    try:
        async with connect(url, max_size=None) as ws:
            try:
                async for message in ws:
                    messages.append(message if isinstance(message, str) else None)
                    if echo:
                        await ws.send(message)
            except ConnectionClosed as closed:
                error = f"{type(closed).__name__}: {closed}"
            code, reason = ws.close_code, ws.close_reason
    except (InvalidHandshake, OSError, asyncio.TimeoutError) as failure:
        return {"messages": messages, "code": None, "reason": None, "error": repr(failure)}
    return {"messages": messages, "code": code, "reason": reason, "error": error}


async def main(url: str, agent: str, first: int = 1, last: int | None = None) -> dict[str, Any]:
    """Play the cases ``first`` to ``last`` (all by default) of the fuzzing server at ``url``."""
    tag = quote(agent)
    counted = await session(f"{url}/getCaseCount", echo=False)
    count = int(counted["messages"][0])
    cases = []
    for n in range(first, min(last or count, count) + 1):
        ended = await session(f"{url}/runCase?case={n}&agent={tag}", echo=True)
        cases.append(
            {"case": n, "code": ended["code"], "reason": ended["reason"], "error": ended["error"]}
        )
    report = await session(f"{url}/updateReports?agent={tag}", echo=False)
    return {
        "count": count,
        "cases": cases,
        "report": {"code": report["code"], "error": report["error"]},
    }


if __name__ == "__main__":
    try:
        output: dict[str, Any] = {
            "result": asyncio.run(
                main(sys.argv[1].rstrip("/"), sys.argv[2], *map(int, sys.argv[3:5]))
            )
        }
    except Exception:  # reported to the test, which fails on it
        output = {"error": traceback.format_exc()}
    print(json.dumps(output), flush=True)
