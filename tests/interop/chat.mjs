// The chat demo across two server processes: headless Chromium (started by the Python
// fixture) driven through puppeteer-core, one page on each server.
// Usage: node chat.mjs '<json>' with {endpoint, pageA, pageB, message, screenshotA,
// screenshotB, screenshotReconnecting}. Prints one JSON object per line, as browser.mjs does.
//
// Both pages wait until they show "connected"; `message` is typed into page A's form; it
// must appear in both logs (A's own, through its server's hub; B's, through Redis). Then
// {"mark": "delivered"}: the test stops server B, and page B must show "reconnecting".
import puppeteer from "puppeteer-core";

const spec = JSON.parse(process.argv[2]);
const emit = (object) => process.stdout.write(`${JSON.stringify(object)}\n`);
const TIMEOUT_MS = 15000;

// Polled from here, one evaluate at a time.
const until = async (page, what, predicate, arg) => {
  const deadline = Date.now() + TIMEOUT_MS;
  while (!(await page.evaluate(predicate, arg))) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};
const statusIs = (page, status) =>
  until(page, `status ${status}`, (expected) => document.querySelector("#status").textContent === expected, status);
const logHas = (page, line) =>
  until(
    page,
    `log line ${line}`,
    (expected) => document.querySelector("#log").textContent.split("\n").includes(expected),
    line,
  );
const textOf = (page, selector) => page.$eval(selector, (element) => element.textContent || "");

const browser = await puppeteer.connect({
  browserWSEndpoint: spec.endpoint,
  defaultViewport: { width: 800, height: 600 },
});
// One context per page, as two people on two machines would be.
const contexts = [await browser.createBrowserContext(), await browser.createBrowserContext()];
const console = [];
try {
  const pages = [];
  for (const [index, name, url] of [[0, "A", spec.pageA], [1, "B", spec.pageB]]) {
    const page = await contexts[index].newPage();
    page.setDefaultTimeout(TIMEOUT_MS);
    page.on("console", (message) => console.push(`${name} ${message.type()}: ${message.text()}`));
    page.on("pageerror", (error) => console.push(`${name} pageerror: ${error.message}`));
    await page.goto(url, { waitUntil: "load" });
    pages.push(page);
  }
  const [pageA, pageB] = pages;
  try {
    await statusIs(pageA, "connected");
    await statusIs(pageB, "connected");
    await pageA.type("#message", spec.message);
    await pageA.click("#send");
    await logHas(pageB, spec.message);
    await logHas(pageA, spec.message);
    await pageB.bringToFront();
    await pageB.screenshot({ path: spec.screenshotB, fullPage: true });
    await pageA.bringToFront();
    await pageA.screenshot({ path: spec.screenshotA, fullPage: true });
    const delivered = { logA: await textOf(pageA, "#log"), logB: await textOf(pageB, "#log") };
    emit({ mark: "delivered" });
    await statusIs(pageB, "reconnecting");
    await pageB.bringToFront();
    await pageB.screenshot({ path: spec.screenshotReconnecting, fullPage: true });
    const result = {
      ...delivered,
      statusA: await textOf(pageA, "#status"),
      statusB: await textOf(pageB, "#status"),
      retryB: await textOf(pageB, "#retry"),
    };
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
