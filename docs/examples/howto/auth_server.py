"""Let in only the clients that bring a valid token."""

import asyncio
import hmac
from urllib.parse import parse_qs

from wsproto_core.asyncio import serve
from wsproto_core.handlers import Handler, Refuse

# Stands in for your session store or your token checker.
TOKENS = {"alice": "s3cr3t-alice", "bob": "s3cr3t-bob"}


def user_for(token):
    """Return the user ``token`` belongs to, or None."""
    for user, known in TOKENS.items():
        if hmac.compare_digest(token.encode(), known.encode()):  # constant time
            return user
    return None


def token_of(conn):
    """The token from ``Authorization: Bearer ...``, else from ``?token=...``."""
    authorization = conn.header("Authorization", "")
    if authorization.startswith("Bearer "):
        return authorization.removeprefix("Bearer ")
    return parse_qs(conn.query).get("token", [""])[0]


class Greeter(Handler):
    def on_connect(self, conn):
        user = user_for(token_of(conn))
        if user is None:
            raise Refuse(403, "a valid token is required")
        conn.context = user  # who this connection belongs to, for later

    def on_message(self, conn, message):
        conn.send(f"Hello, {conn.context}! You said: {message}")


async def main(host="localhost", port=8765):
    async with serve(Greeter(), host, port) as server:
        print(f"Listening on ws://{host}:{server.port}/", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
