"""wsproto_core inside uvicorn (and so FastAPI, Starlette): the protocol class for ``ws=``.

Install with the ``uvicorn`` extra (``pip install wsproto-core[uvicorn]``), then::

    import uvicorn
    from wsproto_core.uvicorn import WsprotoCoreProtocol

    uvicorn.run("app:app", ws=WsprotoCoreProtocol)

or, on the command line, ``uvicorn app:app --ws wsproto_core.uvicorn:WsprotoCoreProtocol``
(uvicorn imports a ``module:attribute`` given to ``--ws``), or
``python -m wsproto_core.uvicorn app:app`` with any of uvicorn's options.
"""

from __future__ import annotations

from .protocol import WsprotoCoreProtocol

__all__ = ["WsprotoCoreProtocol"]
