// Headless Chromium (started by the Python fixture) driven through puppeteer-core.
// Usage: node browser.mjs '<json>' where json is {endpoint, scenario, ...}; endpoint is the
// browser's DevTools WebSocket URL. Prints one JSON object per line: {"mark": name} when a
// mark step runs, then {"result": {...}} or {"error": "..."}.
//
// Scenarios:
//   steps:     {page, url, protocols?, steps}  load `page`, then open a WebSocket to `url` inside it
//              and run the steps of steps.js (the browser's own WebSocket, no fragments or pings).
//   echo_page: {page, message, screenshot}  drive the echo demo page: wait until it is open,
//              send `message` as text then as binary through the form, wait for both echoes
//              in the log, take the screenshot, press close.
//   increment_page: {page, screenshot}  watch the counter rise, press reset, watch it restart.
//   index_page: {page, screenshot}  load the index, take the screenshot, list its links.
//   increment_closeme: {page}  press "Ask the server to close", report the close code and
//              reason the page shows.
import { readFile } from "node:fs/promises";
import puppeteer from "puppeteer-core";

const spec = JSON.parse(process.argv[2]);
const emit = (object) => process.stdout.write(`${JSON.stringify(object)}\n`);
const TIMEOUT_MS = 15000;
const stepsSource = await readFile(new URL("./steps.js", import.meta.url), "utf8");

const textOf = (page, selector) => page.$eval(selector, (element) => element.textContent || "");

// Record every number the increment page receives, from a listener on the page's own
// socket (its top-level `const ws`), so no reading can be missed between two samples.
const recordCounter = (page) =>
  page.evaluate(() => {
    globalThis.counterSeen = [];
    ws.addEventListener("message", (event) => globalThis.counterSeen.push(Number(event.data)));
  });
const counterSeen = (page) => page.evaluate(() => globalThis.counterSeen.slice());

const scenarios = {
  async steps(page) {
    await page.goto(spec.page, { waitUntil: "load" });
    await page.addScriptTag({ content: stepsSource });
    return page.evaluate(
      (url, protocols, steps) =>
        globalThis.interopRunSteps(new WebSocket(url, protocols), steps, {
          mark: (name) => globalThis.interopMark(name),
        }),
      spec.url,
      spec.protocols || [],
      spec.steps,
    );
  },

  async echo_page(page) {
    await page.goto(spec.page, { waitUntil: "load" });
    await page.waitForFunction(() => document.querySelector("#status").textContent === "open", {
      timeout: TIMEOUT_MS,
    });
    const statusOpen = await textOf(page, "#status");
    await page.$eval("#message", (input) => {
      input.value = "";
    });
    await page.type("#message", spec.message);
    await page.click("#send");
    await page.waitForFunction(
      (expected) => document.querySelector("#log").textContent.includes(expected),
      { timeout: TIMEOUT_MS },
      `text: ${spec.message}`,
    );
    await page.click("#send-binary");
    await page.waitForFunction(
      () => document.querySelector("#log").textContent.includes("binary: "),
      { timeout: TIMEOUT_MS },
    );
    const logAfterEcho = await textOf(page, "#log");
    await page.screenshot({ path: spec.screenshot, fullPage: true });
    await page.click("#close");
    await page.waitForFunction(() => document.querySelector("#status").textContent === "closed", {
      timeout: TIMEOUT_MS,
    });
    return {
      statusOpen,
      logAfterEcho,
      closeCode: await textOf(page, "#close-code"),
      closeReason: await textOf(page, "#close-reason"),
    };
  },

  async increment_page(page) {
    await page.goto(spec.page, { waitUntil: "load" });
    await recordCounter(page);
    await page.waitForFunction(() => globalThis.counterSeen.length >= 6);
    await page.screenshot({ path: spec.screenshot, fullPage: true });
    // Click and note how many numbers arrived before it in one task: no message event
    // can run between the two, so `clickedAt` splits the readings exactly.
    const clickedAt = await page.evaluate(() => {
      document.getElementById("reset").click();
      return globalThis.counterSeen.length;
    });
    // The server answers "reset\n" by restarting from 0: wait for the 0 and five more.
    await page.waitForFunction(
      (from) => {
        const restart = globalThis.counterSeen.indexOf(0, from);
        return restart >= 0 && globalThis.counterSeen.length >= restart + 6;
      },
      {},
      clickedAt,
    );
    const seen = await counterSeen(page);
    return { before: seen.slice(0, clickedAt), after: seen.slice(clickedAt) };
  },
};

scenarios.index_page = async (page) => {
  await page.goto(spec.page, { waitUntil: "load" });
  await page.screenshot({ path: spec.screenshot, fullPage: true });
  return {
    title: await page.title(),
    links: await page.$$eval("#pages a", (links) => links.map((link) => link.getAttribute("href"))),
  };
};

scenarios.increment_closeme = async (page) => {
  await page.goto(spec.page, { waitUntil: "load" });
  await page.waitForFunction(() => document.querySelector("#status").textContent === "open", {
    timeout: TIMEOUT_MS,
  });
  await page.click("#closeme");
  await page.waitForFunction(() => document.querySelector("#status").textContent === "closed", {
    timeout: TIMEOUT_MS,
  });
  return {
    closeCode: await textOf(page, "#close-code"),
    closeReason: await textOf(page, "#close-reason"),
  };
};

const browser = await puppeteer.connect({
  browserWSEndpoint: spec.endpoint,
  defaultViewport: { width: 800, height: 600 },
});
const context = await browser.createBrowserContext();
try {
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  const console = [];
  page.on("console", (message) => console.push(`${message.type()}: ${message.text()}`));
  page.on("pageerror", (error) => console.push(`pageerror: ${error.message}`));
  await page.exposeFunction("interopMark", (name) => emit({ mark: name }));
  try {
    const result = await scenarios[spec.scenario](page);
    emit({ result, console });
  } catch (error) {
    emit({ error: String(error && error.stack ? error.stack : error), console });
  }
} finally {
  await context.close();
  await browser.disconnect();
}
