"""Connect with a token in the Authorization header; show a refusal."""

import asyncio

from wsproto_core.asyncio import HandshakeRejected, connect


async def main(uri="ws://localhost:8765/", token="s3cr3t-alice"):
    headers = [("Authorization", f"Bearer {token}")]
    try:
        async with connect(uri, extra_headers=headers) as ws:
            await ws.send("hi")
            print(await ws.recv())
    except HandshakeRejected as refusal:
        print(f"refused: {refusal.status} {refusal.body.decode().strip()}")


if __name__ == "__main__":
    asyncio.run(main())
