// Node's ws as a plain echo server, as its README shows one, for the conformance kit to test.
// Usage: node ws_echo.mjs. Listens on 127.0.0.1 on a free port with ws's defaults plus
// permessage-deflate, prints {"listening": port} on one line, echoes every message with its
// type, and logs each socket error (ws emits one before failing a connection) to stderr.
// Stops on SIGTERM.
import { WebSocketServer } from "ws";

const server = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: true });
server.on("connection", (socket) => {
  socket.on("error", (error) => process.stderr.write(`${error.message}\n`));
  socket.on("message", (data, binary) => socket.send(data, { binary }));
});
server.on("listening", () =>
  process.stdout.write(`${JSON.stringify({ listening: server.address().port })}\n`),
);
process.on("SIGTERM", () => {
  for (const client of server.clients) client.terminate();
  server.close(() => process.exit(0));
});
