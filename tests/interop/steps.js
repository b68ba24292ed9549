// The step runner shared by the Node ws client (ws_client.mjs) and the browser (browser.mjs):
// it drives one WHATWG-style WebSocket through a list of steps given by the Python test and
// returns what it observed. Plain script (no import/export) so a page can take it as a
// classic <script> and Node as a module; it defines globalThis.interopRunSteps.
//
// Steps (objects):
//   {send: "text"|"binary", size: N, fragments?: K}  a deterministic payload (see payload())
//   {send: "text"|"binary", data: "..."}             a literal payload
//   {receive: N}                                     the next N messages: type, length, sha256 (text kept when short)
//   {ping: "payload"}                                a ping, then wait for its pong (needs extras.ping)
//   {close: code, reason: "..."}                     start the closing handshake, wait for the close event
//   {await_close: true}                              wait for the peer to close
//   {mark: "name"}                                   call extras.mark(name) (tell the Python test where we are)
// Payload rule, mirrored by the Python tests: text is TEXT_PATTERN repeated, cut to N UTF-16
// code units (all BMP, so N code points); binary byte i is (31 * i + 7) mod 256.

globalThis.interopRunSteps = async function interopRunSteps(socket, steps, extras = {}) {
  const TEXT_PATTERN = "wsproto_core \u2713 \u00fcn\u00efc\u00f6d\u00e9 \u20ac ";
  const STEP_TIMEOUT_MS = 15000;
  const received = [];
  const waiters = [];
  const results = [];
  let closed = null;

  const payload = (kind, size) => {
    if (kind === "text") {
      return TEXT_PATTERN.repeat(Math.ceil(size / TEXT_PATTERN.length)).slice(0, size);
    }
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = (31 * i + 7) & 0xff;
    return bytes;
  };
  const sha256 = async (data) => {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : new Uint8Array(data);
    const digest = await globalThis.crypto.subtle.digest("SHA-256", bytes);
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  };
  // Run the waiters registered so far once each. A waiter whose condition does not hold yet
  // registers itself again for the next event: taking the list first keeps that from
  // spinning here forever (a counter tick arriving while the close step waits did).
  const wake = () => {
    for (const check of waiters.splice(0)) check();
  };
  const until = (ready, what) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), STEP_TIMEOUT_MS);
      const check = () => {
        if (ready()) {
          clearTimeout(timer);
          resolve();
        } else {
          waiters.push(check);
        }
      };
      check();
    });

  socket.binaryType = "arraybuffer";
  socket.addEventListener("message", (event) => {
    received.push(event.data);
    wake();
  });
  socket.addEventListener("close", (event) => {
    closed = { code: event.code, reason: event.reason, wasClean: event.wasClean };
    wake();
  });
  socket.addEventListener("open", () => wake());
  socket.addEventListener("error", () => wake());
  if (extras.onPong) extras.onPong(wake);
  await until(() => socket.readyState !== 0, "the opening handshake");
  if (socket.readyState !== 1) {
    await until(() => closed !== null, "the close event after a failed handshake");
    return { opened: false, protocol: null, results, closed };
  }
  const protocol = socket.protocol;

  for (const step of steps) {
    if (step.send !== undefined) {
      const data = step.data !== undefined ? step.data : payload(step.send, step.size);
      if (step.fragments && step.fragments > 1) {
        extras.sendFragmented(data, step.send === "binary", step.fragments);
      } else {
        socket.send(data);
      }
      results.push({ sent: step.send, length: data.length });
    } else if (step.receive !== undefined) {
      for (let n = 0; n < step.receive; n++) {
        await until(() => received.length > 0 || closed !== null, "a message");
        if (received.length === 0) throw new Error(`closed while waiting for a message: ${JSON.stringify(closed)}`);
        const data = received.shift();
        const isText = typeof data === "string";
        results.push({
          received: isText ? "text" : "binary",
          length: isText ? data.length : data.byteLength,
          sha256: await sha256(data),
          text: isText && data.length <= 64 ? data : null,
        });
      }
    } else if (step.ping !== undefined) {
      const before = extras.pongs.length;
      extras.ping(step.ping);
      await until(() => extras.pongs.length > before || closed !== null, "a pong");
      results.push({ pong: extras.pongs[before] === undefined ? null : extras.pongs[before] });
    } else if (step.close !== undefined) {
      socket.close(step.close, step.reason || "");
      await until(() => closed !== null, "the close event");
      results.push({ closed });
    } else if (step.await_close !== undefined) {
      await until(() => closed !== null, "the peer's close");
      results.push({ closed });
    } else if (step.mark !== undefined) {
      extras.mark(step.mark);
    } else {
      throw new Error(`unknown step ${JSON.stringify(step)}`);
    }
  }
  return { opened: true, protocol, results, closed };
};
