// Captures real rrweb recordings of the fixture pages into datasets/rrweb/ for the Rust unit
// tests of the rrweb mapper (crates/model/src/rrweb/). Pages are served from disk on a made-up
// origin; the tracker is blocked. Each recording comes with what the browser saw (the clicks'
// page coordinates and targets, the typed text), so the tests can check the mapping against it.
//
//   node tests/browser/capture-rrweb.mjs
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buttonsFlow, formFlow, freshContext, TYPED, useRrweb } from "./lib.mjs";

const here = new URL(".", import.meta.url).pathname;
const out = join(here, "../../datasets/rrweb");
const ORIGIN = "http://fixture.heatlake.test";

async function capture(name, flow) {
  const context = await freshContext();
  const page = await context.newPage();
  await page.route(`${ORIGIN}/pages/*`, (route) => {
    const file = new URL(route.request().url()).pathname.replace("/pages/", "");
    route.fulfill({ body: readFileSync(join(here, "pages", file)), contentType: "text/html" });
  });
  await useRrweb(page, { capture: true });
  await page.goto(`${ORIGIN}/pages/${name}.html`);
  await page.waitForFunction(() => window.__rrwebEvents.length > 1);
  const expected = await flow(page);
  const events = await page.evaluate(() => window.__rrwebEvents);
  await context.closeAll();
  writeFileSync(join(out, `${name}.json`), JSON.stringify(events) + "\n");
  writeFileSync(join(out, `${name}.expected.json`), JSON.stringify(expected, null, 1) + "\n");
  console.log(`datasets/rrweb/${name}.json: ${events.length} rrweb events`);
}

await capture("buttons", buttonsFlow);
await capture("form", async (page) => {
  await formFlow(page);
  return { typed: TYPED };
});
