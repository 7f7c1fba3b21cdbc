// Time the tracker spends in its event handlers, per 1,000 events, in Chromium.
//
//   node tests/browser/bench-tracker.mjs
//
// The buttons fixture is served from disk (no collector: requests to /v1/ are answered 202 by the
// test itself). For each kind of event, 1,000 synthetic events are dispatched in a loop on a page
// with the tracker and on the same page without it; the difference of the two times, measured with
// performance.now() around the dispatch loop, is the tracker's. `Date.now` advances 60 ms per event
// so that every move and scroll passes the tracker's rate limits (the costly path), not the early
// return most real events take. Median of 7 rounds.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { freshContext } from "./lib.mjs";

const here = new URL(".", import.meta.url).pathname;
const ORIGIN = "http://bench.heatlake.test";
const TRACKER = readFileSync(join(here, "../../tracker/dist/heatlake.js"));
const ROUNDS = 7;
const EVENTS = 1000;

async function openPage(context, withTracker) {
  const page = await context.newPage();
  await page.route(`${ORIGIN}/**`, (route) => {
    const path = new URL(route.request().url()).pathname;
    if (path == "/t.js") {
      return withTracker
        ? route.fulfill({ body: TRACKER, contentType: "text/javascript" })
        : route.fulfill({ body: "", contentType: "text/javascript" });
    }
    if (path.startsWith("/v1/")) return route.fulfill({ status: 202 });
    route.fulfill({ body: readFileSync(join(here, "pages", path.replace("/pages/", ""))), contentType: "text/html" });
  });
  await page.goto(`${ORIGIN}/pages/buttons.html`);
  if (withTracker) await page.waitForFunction(() => window.heatlake);
  return page;
}

// Runs `count` events of `kind` in the page; returns the milliseconds the loop took.
function dispatchLoop({ kind, count }) {
  let fakeNow = Date.now();
  const realNow = Date.now;
  Date.now = () => fakeNow;
  const button = document.querySelector("button.nothing");
  const field = document.createElement("input");
  document.body.appendChild(field);
  const make = {
    move: (i) => new MouseEvent("mousemove", { bubbles: true, clientX: 100 + (i % 500), clientY: 200 }),
    click: () => new MouseEvent("click", { bubbles: true, clientX: 700, clientY: 440, detail: 1 }),
    scroll: () => new Event("scroll"),
    input: () => new InputEvent("input", { bubbles: true }),
  }[kind];
  const target = { move: document, click: button, scroll: window, input: field }[kind];
  const events = Array.from({ length: count }, (_, i) => make(i));
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    fakeNow += 60;
    target.dispatchEvent(events[i]);
  }
  const elapsed = performance.now() - start;
  Date.now = realNow;
  field.remove();
  return elapsed;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const context = await freshContext();
const results = {};
for (const kind of ["move", "scroll", "click", "input"]) {
  const differences = [];
  for (let round = 0; round < ROUNDS; round++) {
    const plain = await openPage(context, false);
    const tracked = await openPage(context, true);
    const without = await plain.evaluate(dispatchLoop, { kind, count: EVENTS });
    const withTracker = await tracked.evaluate(dispatchLoop, { kind, count: EVENTS });
    differences.push(withTracker - without);
    await plain.close();
    await tracked.close();
  }
  results[kind] = median(differences);
}
const chromium = context.browser()?.version() ?? "";
await context.closeAll();
console.log(`tracker/dist/heatlake.js: ${TRACKER.length} bytes, ${gzipSync(TRACKER, { level: 9 }).length} bytes gzip`);
console.log(`Chromium ${chromium}: ms in the tracker's handlers per ${EVENTS} events (median of ${ROUNDS})`);
for (const [kind, ms] of Object.entries(results)) console.log(`  ${kind.padEnd(6)} ${ms.toFixed(2)} ms`);
