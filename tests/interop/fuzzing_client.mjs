// Node's ws as the testee of our fuzzing server, the way Autobahn testee clients are written
// (ws's own test/autobahn.js): /getCaseCount, then /runCase?case=N&agent=A for every case,
// echoing each message with its type until the server closes, then /updateReports.
// Usage: node fuzzing_client.mjs '<json>' where json is {url, agent, first?, last?}: with first and
// last it runs only cases first to last (1-based, as /runCase numbers them), so that several
// clients can share the cases.
// Prints one JSON line, {"result": {count, cases: [{case, code, reason, error}], report}} with
// what ws saw of each connection's end, or {"error": "..."}; exits 0 either way.
import WebSocket from "ws";

const spec = JSON.parse(process.argv[2]);
const emit = (object) => process.stdout.write(`${JSON.stringify(object)}\n`);
const agent = encodeURIComponent(spec.agent);

// One connection to `path`: resolves, once it is closed, with the messages it got and how it
// ended. `echo` sends every message back as it came (text or binary).
const session = (path, echo) =>
  new Promise((resolve) => {
    const socket = new WebSocket(`${spec.url}${path}`);
    const messages = [];
    let error = null;
    socket.on("message", (data, isBinary) => {
      messages.push(isBinary ? null : data.toString("utf8"));
      if (echo) socket.send(data, { binary: isBinary }, () => {});
    });
    socket.on("error", (failure) => {
      error = String(failure && failure.message ? failure.message : failure);
    });
    socket.on("close", (code, reason) => {
      resolve({ messages, code, reason: reason.toString("utf8"), error });
    });
  });

try {
  const counted = await session("/getCaseCount", false);
  const count = parseInt(counted.messages[0], 10);
  if (!(count >= 0)) throw new Error(`no case count: ${JSON.stringify(counted)}`);
  const cases = [];
  const last = Math.min(spec.last || count, count);
  for (let n = spec.first || 1; n <= last; n++) {
    const ended = await session(`/runCase?case=${n}&agent=${agent}`, true);
    cases.push({ case: n, code: ended.code, reason: ended.reason, error: ended.error });
  }
  const report = await session(`/updateReports?agent=${agent}`, false);
  emit({ result: { count, cases, report: { code: report.code, error: report.error } } });
} catch (error) {
  emit({ error: String(error && error.stack ? error.stack : error) });
}
