// The step runner shared by the Node ws client (ws_client.mjs) and the browser (browser.mjs):
// it drives one WHATWG-style WebSocket through a list of steps given by the Python test and
// returns what it observed. Plain script (no import/export) so a page can take it as a
// classic <script> and Node as a module; it defines globalThis.interopRunSteps.
//
// Steps (objects):
//   {send: KIND, size: N, fragments?: K}  a generated payload of KIND (see payload()); the
//                                         result has its length, UTF-8 byte count and sha256
//   {send: "text"|"binary", data: "..."}  a literal payload
//   {receive: N}                          the next N messages: type, length, bytes, sha256 (text
//                                         kept when short), and extras.stats() when given
//   {ping: "payload"}                                a ping, then wait for its pong (needs extras.ping)
//   {close: code, reason: "..."}                     start the closing handshake, wait for the close event
//   {await_close: true}                              wait for the peer to close
//   {mark: "name"}                                   call extras.mark(name) (tell the Python test where we are)
// Payload kinds. Mirrored by the Python tests (interop_harness.py): "text" is TEXT_PATTERN
// repeated, cut to N UTF-16 code units (all BMP, so N code points); "json" is JSON_PATTERN
// repeated, cut to N characters (ASCII); "binary" byte i is (31 * i + 7) mod 256. Not mirrored
// (the test compares the sha256 of what was sent with that of what came back): "random" is N
// random bytes; "random_text" is random code points of all four UTF-8 lengths (no surrogates),
// N bytes in UTF-8. "text", "json" and "random_text" are sent as text messages.
// The result also carries `extensions` (the socket's) and extras.info() when given.

globalThis.interopRunSteps = async function interopRunSteps(socket, steps, extras = {}) {
  const TEXT_PATTERN = "wsproto_core \u2713 \u00fcn\u00efc\u00f6d\u00e9 \u20ac ";
  const JSON_PATTERN = '{"id":7,"name":"wsproto_core","tags":["deflate","rfc7692"],"ok":true},';
  const TEXT_KINDS = ["text", "json", "random_text"];
  const STEP_TIMEOUT_MS = 15000;
  const received = [];
  const waiters = [];
  const results = [];
  let closed = null;

  const randomBytes = (size) => {
    const bytes = new Uint8Array(size);
    // getRandomValues fills at most 65536 bytes a call.
    for (let at = 0; at < size; at += 65536) {
      globalThis.crypto.getRandomValues(bytes.subarray(at, Math.min(at + 65536, size)));
    }
    return bytes;
  };
  // Random code points, each of a UTF-8 length 1 to 4 chosen at random (one byte when fewer
  // bytes remain), until the UTF-8 form is exactly `size` bytes.
  const randomText = (size) => {
    const ranges = [
      [0x00, 0x7f],
      [0x80, 0x7ff],
      [0x800, 0xffff],
      [0x10000, 0x10ffff],
    ];
    const words = new Uint32Array(2);
    const points = [];
    for (let left = size; left > 0; ) {
      globalThis.crypto.getRandomValues(words);
      let length = (words[0] % 4) + 1;
      if (length > left) length = 1;
      const [low, high] = ranges[length - 1];
      let point = low + (words[1] % (high - low + 1));
      if (point >= 0xd800 && point <= 0xdfff) point -= 0x800;
      points.push(point);
      left -= length;
    }
    let text = "";
    for (let at = 0; at < points.length; at += 8192) {
      text += String.fromCodePoint(...points.slice(at, at + 8192));
    }
    return text;
  };
  const repeatTo = (pattern, size) => pattern.repeat(Math.ceil(size / pattern.length)).slice(0, size);
  const payload = (kind, size) => {
    if (kind === "text") return repeatTo(TEXT_PATTERN, size);
    if (kind === "json") return repeatTo(JSON_PATTERN, size);
    if (kind === "random_text") return randomText(size);
    if (kind === "random") return randomBytes(size);
    if (kind !== "binary") throw new Error(`unknown payload kind ${kind}`);
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = (31 * i + 7) & 0xff;
    return bytes;
  };
  const byteLength = (data) =>
    typeof data === "string" ? new TextEncoder().encode(data).length : data.byteLength;
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
    return { opened: false, protocol: null, extensions: null, results, closed };
  }
  const protocol = socket.protocol;
  const extensions = socket.extensions;
  const info = extras.info ? extras.info() : null;

  for (const step of steps) {
    if (step.send !== undefined) {
      const generated = step.data === undefined;
      const data = generated ? payload(step.send, step.size) : step.data;
      if (step.fragments && step.fragments > 1) {
        extras.sendFragmented(data, !TEXT_KINDS.includes(step.send), step.fragments);
      } else {
        socket.send(data);
      }
      const sent = { sent: step.send, length: data.length };
      if (generated) Object.assign(sent, { bytes: byteLength(data), sha256: await sha256(data) });
      results.push(sent);
    } else if (step.receive !== undefined) {
      for (let n = 0; n < step.receive; n++) {
        await until(() => received.length > 0 || closed !== null, "a message");
        if (received.length === 0) throw new Error(`closed while waiting for a message: ${JSON.stringify(closed)}`);
        const data = received.shift();
        const isText = typeof data === "string";
        results.push({
          received: isText ? "text" : "binary",
          length: isText ? data.length : data.byteLength,
          bytes: byteLength(data),
          sha256: await sha256(data),
          text: isText && data.length <= 64 ? data : null,
          ...(extras.stats ? { stats: extras.stats() } : {}),
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
  return { opened: true, protocol, extensions, info, results, closed };
};
