// Node's ws as a client of our servers. Usage: node ws_client.mjs '<json>' where json is
// {url, protocols?: [...], deflate?: bool | options, steps: [...]} (steps as in steps.js).
// deflate: false offers no permessage-deflate; true (the default) offers ws's defaults; an
// object is ws's perMessageDeflate options (e.g. {threshold: 0, serverNoContextTakeover: true}).
// The result's `info` is the server's Sec-WebSocket-Extensions and the permessage-deflate
// parameters ws agreed (null without); each received message has `stats`: the socket's
// bytesRead and bytesWritten so far (the bytes on the wire, compressed or not).
// Prints one JSON object per line: {"mark": name} when a mark step runs, then {"result": {...}}
// or {"error": "..."}; exits 0 either way so the Python test reads the outcome.
import WebSocket from "ws";
import "./steps.js";

const spec = JSON.parse(process.argv[2]);
const emit = (object) => process.stdout.write(`${JSON.stringify(object)}\n`);
const socket = new WebSocket(spec.url, spec.protocols || [], {
  perMessageDeflate: spec.deflate === undefined ? true : spec.deflate,
  handshakeTimeout: 10000,
});
let responseExtensions = null;
socket.on("upgrade", (response) => {
  responseExtensions = response.headers["sec-websocket-extensions"] || null;
});
const pongs = [];
let wakeOnPong = () => {};
socket.on("pong", (data) => {
  pongs.push(data.toString("utf8"));
  wakeOnPong();
});
socket.on("unexpected-response", (request, response) => {
  emit({ result: { opened: false, status: response.statusCode, protocol: null, results: [], closed: null } });
  process.exit(0);
});

const extras = {
  pongs,
  onPong: (wake) => {
    wakeOnPong = wake;
  },
  ping: (data) => socket.ping(data),
  mark: (name) => emit({ mark: name }),
  info: () => {
    const deflate = socket._extensions["permessage-deflate"];
    return { responseExtensions, deflate: deflate ? deflate.params : null };
  },
  stats: () => ({ bytesRead: socket._socket.bytesRead, bytesWritten: socket._socket.bytesWritten }),
  // Split the payload's bytes (UTF-8 for text, so a code point may straddle two frames)
  // into `count` frames: the first with the message's opcode, the others continuations.
  sendFragmented: (data, binary, count) => {
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(data);
    const step = Math.ceil(bytes.length / count);
    for (let i = 0; i < count; i++) {
      const chunk = bytes.subarray(i * step, Math.min((i + 1) * step, bytes.length));
      socket.send(chunk, { binary, fin: i === count - 1 });
    }
  },
};

try {
  emit({ result: await globalThis.interopRunSteps(socket, spec.steps, extras) });
} catch (error) {
  emit({ error: String(error && error.stack ? error.stack : error) });
}
socket.terminate();
