"""``python -m wsproto_core.uvicorn APP [OPTIONS]``: uvicorn's command line, on wsproto_core.

Every option of ``uvicorn --help`` passes through, and the WebSocket protocol
is :class:`~wsproto_core.uvicorn.WsprotoCoreProtocol` (any ``--ws`` is
overridden). Since uvicorn 0.36 ``uvicorn APP --ws
wsproto_core.uvicorn:WsprotoCoreProtocol`` does the same; before, ``--ws``
accepted only uvicorn's own names, and this works there too: it hands the class
itself to uvicorn, as ``uvicorn.run(..., ws=...)`` does.
"""

from __future__ import annotations

import sys

import click
import uvicorn

from .protocol import WsprotoCoreProtocol

PROG_NAME = "python -m wsproto_core.uvicorn"


def main(argv: list[str] | None = None) -> None:
    """Parse uvicorn's options, then run uvicorn's ``main`` with ``ws=WsprotoCoreProtocol``.

    Args:
        argv: The arguments (``sys.argv[1:]`` by default).
    """
    command = uvicorn.main
    args = sys.argv[1:] if argv is None else argv
    try:
        with command.make_context(PROG_NAME, list(args)) as context:
            context.params["ws"] = WsprotoCoreProtocol
            command.invoke(context)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)


if __name__ == "__main__":
    main()
