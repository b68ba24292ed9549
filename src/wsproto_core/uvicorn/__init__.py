"""wsproto_core inside uvicorn (and so FastAPI, Starlette): the protocol class for ``ws=``.

Install with the ``uvicorn`` extra (``pip install wsproto-core[uvicorn]``), then::

    import uvicorn
    from wsproto_core.uvicorn import WsprotoCoreProtocol

    uvicorn.run("app:app", ws=WsprotoCoreProtocol)

or, on the command line, ``uvicorn app:app --ws wsproto_core.uvicorn:WsprotoCoreProtocol``
(uvicorn 0.36 and later import a ``module:attribute`` given to ``--ws``; before, it takes
only its own names), or ``python -m wsproto_core.uvicorn app:app`` with any of uvicorn's
options, on any uvicorn the extra allows. The how-to "Use with uvicorn, FastAPI and
Starlette" has a whole example.
"""

from __future__ import annotations

from .protocol import WsprotoCoreProtocol

__all__ = ["WsprotoCoreProtocol"]
