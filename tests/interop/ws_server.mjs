// Node's ws as a server for our clients. Usage: node ws_server.mjs '<json>' where json is
// {fragments?: K, maxPayload?: N, perMessageDeflate?: false | true | options} (default false:
// no permessage-deflate; an object is ws's options, e.g. {threshold: 0}). Listens on
// 127.0.0.1 on a free port and echoes every
// message with its type (split into K frames when K > 1). A text message starting with "!"
// is a command instead: "!close CODE REASON" closes with that code and reason; "!ping DATA"
// sends a ping. Prints one JSON object per line on stdout: {"listening": port}, then every
// event it sees: connection (with the chosen subprotocol, the client's Sec-WebSocket-Extensions
// offer and the permessage-deflate parameters agreed, or null), message (type, length, sha256,
// and the socket's bytesRead so far), sent (the socket's bytesWritten once an echo is written),
// ping, pong, close (code, reason). Stops on SIGTERM.
import { createHash } from "node:crypto";
import { WebSocketServer } from "ws";

const options = JSON.parse(process.argv[2] || "{}");
const emit = (object) => process.stdout.write(`${JSON.stringify(object)}\n`);
const server = new WebSocketServer({
  host: "127.0.0.1",
  port: 0,
  perMessageDeflate: options.perMessageDeflate || false,
  maxPayload: options.maxPayload || 100 * 2 ** 20,
  handleProtocols: (protocols) => (protocols.size ? protocols.values().next().value : false),
});

const sendMessage = (socket, data, binary) => {
  const count = options.fragments || 1;
  const step = Math.max(1, Math.ceil(data.length / count));
  const sent = () => emit({ event: "sent", bytesWritten: socket._socket.bytesWritten });
  if (count <= 1 || data.length === 0) {
    socket.send(data, { binary }, sent);
    return;
  }
  for (let i = 0; i < count; i++) {
    const chunk = data.subarray(i * step, Math.min((i + 1) * step, data.length));
    socket.send(chunk, { binary, fin: i === count - 1 }, i === count - 1 ? sent : undefined);
  }
};

server.on("connection", (socket, request) => {
  const deflate = socket._extensions["permessage-deflate"];
  emit({
    event: "connection",
    protocol: socket.protocol,
    path: request.url,
    offer: request.headers["sec-websocket-extensions"] || null,
    deflate: deflate ? deflate.params : null,
  });
  socket.on("message", (data, binary) => {
    const text = binary ? null : data.toString("utf8");
    if (text !== null && text.startsWith("!close ")) {
      const [, code, ...reason] = text.split(" ");
      socket.close(Number(code), reason.join(" "));
      return;
    }
    if (text !== null && text.startsWith("!ping ")) {
      socket.ping(text.slice(6));
      return;
    }
    emit({
      event: "message",
      type: binary ? "binary" : "text",
      length: binary ? data.length : text.length,
      sha256: createHash("sha256").update(data).digest("hex"),
      bytesRead: socket._socket.bytesRead,
    });
    sendMessage(socket, data, binary);
  });
  socket.on("ping", (data) => emit({ event: "ping", data: data.toString("utf8") }));
  socket.on("pong", (data) => emit({ event: "pong", data: data.toString("utf8") }));
  socket.on("close", (code, reason) => emit({ event: "close", code, reason: reason.toString("utf8") }));
});
server.on("listening", () => emit({ listening: server.address().port }));
process.on("SIGTERM", () => {
  for (const client of server.clients) client.terminate();
  server.close(() => process.exit(0));
});
