"""A chat room on Starlette, served by uvicorn with wsproto_core's WebSocket protocol.

The page at ``/`` connects to ``/ws``; every text a member sends goes to every member.
Run ``python app.py`` and open http://127.0.0.1:8000/ in two browser windows.
"""

from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocketDisconnect

from wsproto_core.uvicorn import WsprotoCoreProtocol

PAGE = Path(__file__).with_name("chat.html").read_text()

members = set()


async def homepage(request):
    return HTMLResponse(PAGE)


async def chat(websocket):
    await websocket.accept()
    members.add(websocket)
    try:
        async for text in websocket.iter_text():
            await broadcast(text)
    finally:
        members.discard(websocket)


async def broadcast(text):
    for member in list(members):  # a copy: members may come and go meanwhile
        try:
            await member.send_text(text)
        except WebSocketDisconnect:
            members.discard(member)  # gone; its own chat() ends too


app = Starlette(routes=[Route("/", homepage), WebSocketRoute("/ws", chat)])


def main(host="127.0.0.1", port=8000):
    config = uvicorn.Config(app, host=host, port=port, ws=WsprotoCoreProtocol)
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
