// Two headless-Chromium pages on the uvicorn chat example (docs/examples/uvicorn_chat),
// driven through puppeteer-core like browser.mjs.
// Usage: node browser_chat.mjs '<json>' where json is
//   {endpoint, page, messages: [fromA, fromB], screenshots: [pathA, pathB]}
// Each page gets its own browser context (no shared cookies or storage). Both wait until
// the page shows "open"; page A types and sends messages[0], and both pages must list it;
// then page B sends messages[1], and both must list it after the first. Then a screenshot
// of each page, and both pages are closed (their sockets with them).
// Prints {"result": {a: {...}, b: {...}}} (per page: the status it showed once open, the
// socket's `extensions`, the messages listed) or {"error": "..."}, one JSON line.
import puppeteer from "puppeteer-core";

const spec = JSON.parse(process.argv[2]);
const emit = (object) => process.stdout.write(`${JSON.stringify(object)}\n`);
const TIMEOUT_MS = 15000;

const listed = (page) =>
  page.$$eval("#messages li", (items) => items.map((item) => item.textContent));

// Wait until the page lists `expected`, in that order, as its whole message list.
const waitForList = (page, expected) =>
  page.waitForFunction(
    (want) => {
      const items = [...document.querySelectorAll("#messages li")].map((li) => li.textContent);
      return JSON.stringify(items) === JSON.stringify(want);
    },
    { timeout: TIMEOUT_MS },
    expected,
  );

const say = async (page, text) => {
  await page.type("#message", text);
  await page.click("#send");
};

const browser = await puppeteer.connect({
  browserWSEndpoint: spec.endpoint,
  defaultViewport: { width: 800, height: 600 },
});
const contexts = [await browser.createBrowserContext(), await browser.createBrowserContext()];
const console = [];
try {
  const pages = [];
  for (const [index, context] of contexts.entries()) {
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT_MS);
    const name = "ab"[index];
    page.on("console", (message) => console.push(`${name} ${message.type()}: ${message.text()}`));
    page.on("pageerror", (error) => console.push(`${name} pageerror: ${error.message}`));
    pages.push(page);
  }
  try {
    for (const page of pages) {
      await page.goto(spec.page, { waitUntil: "load" });
      await page.waitForFunction(() => document.querySelector("#status").textContent === "open");
    }
    const [a, b] = pages;
    const [first, second] = spec.messages;
    await say(a, first);
    await Promise.all(pages.map((page) => waitForList(page, [first])));
    await say(b, second);
    await Promise.all(pages.map((page) => waitForList(page, [first, second])));
    const result = {};
    for (const [index, page] of pages.entries()) {
      await page.screenshot({ path: spec.screenshots[index], fullPage: true });
      result["ab"[index]] = {
        status: await page.$eval("#status", (element) => element.textContent),
        extensions: await page.evaluate(() => ws.extensions),
        shownExtensions: await page.$eval("#extensions", (element) => element.textContent),
        messages: await listed(page),
      };
    }
    emit({ result, console });
  } catch (error) {
    emit({ error: String(error && error.stack ? error.stack : error), console });
  }
} finally {
  for (const context of contexts) {
    await context.close();
  }
  await browser.disconnect();
}
