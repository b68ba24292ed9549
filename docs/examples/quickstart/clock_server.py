"""A page and a WebSocket endpoint on one port: the server pushes the time."""

import asyncio
from datetime import datetime, timezone
from pathlib import Path

from wsproto_core.asyncio import serve
from wsproto_core.handlers import Handler, Router

TICK = 1.0  # seconds between two updates
PAGE = Path(__file__).with_name("clock.html").read_bytes()


class Clock(Handler):
    def on_connect(self, conn):
        def send_time():
            conn.send(datetime.now(timezone.utc).isoformat(timespec="seconds"))

        conn.call_every(TICK, send_time)


async def main(host="localhost", port=8765):
    router = Router()
    router.page("/", PAGE)
    router.route("/time", Clock())
    async with serve(router, host, port) as server:
        print(f"Open http://{host}:{server.port}/ in a browser", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
