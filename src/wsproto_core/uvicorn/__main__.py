"""``python -m wsproto_core.uvicorn APP [OPTIONS]``: uvicorn's command line, on wsproto_core.

Every option of ``uvicorn --help`` passes through; ``--ws`` is set to
:class:`~wsproto_core.uvicorn.WsprotoCoreProtocol` (the same as
``uvicorn APP --ws wsproto_core.uvicorn:WsprotoCoreProtocol``).
"""

from __future__ import annotations

import sys

import uvicorn

WS_OPTION = ["--ws", "wsproto_core.uvicorn:WsprotoCoreProtocol"]


def main(argv: list[str] | None = None) -> None:
    """Run uvicorn's ``main`` with ``--ws`` naming our protocol class.

    Args:
        argv: The arguments (``sys.argv[1:]`` by default); a ``--ws`` among them wins.
    """
    args = sys.argv[1:] if argv is None else argv
    uvicorn.main.main(args=[*WS_OPTION, *args], prog_name="python -m wsproto_core.uvicorn")


if __name__ == "__main__":
    main()
