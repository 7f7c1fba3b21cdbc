// The HTML report of `heatlake report` in a real Chromium: a small hand-built table of two
// sites, the report of one page, opened from disk; its pictures load, its scroll chart and
// tables are there with the fixture's numbers, it names the table version and the parameters,
// it shows nothing of the other site, and a full-page screenshot is saved for people to look at.
//
//   node tests/browser/report.test.mjs --heatlake BINARY [--out DIR]
//
// The screenshot goes to DIR (default: a new temporary directory), printed at the end.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parseArgs } from "node:util";
import { freshContext } from "./lib.mjs";

const { values: args } = parseArgs({
  options: { heatlake: { type: "string" }, out: { type: "string" } },
});
assert.ok(args.heatlake, "--heatlake BINARY is required");

const SITE = "report.example";
const PAGE = "report.example/landing";
const OTHER_SITE = "other.example";
// 2026-11-02 09:00:00 UTC.
const T0 = 1_794_646_800_000;
// Page views of the fixture; each clicks the call to action 3 times (no rage run: 2 s apart)
// and scrolls to a depth that grows with its number.
const PAGE_VIEWS = 12;
const VIEWPORT_H = 800;
const DOC_H = 2400;

// The fixture: PAGE_VIEWS desktop page views of PAGE, and one page view of the other site whose
// selector must never show in the report.
function fixtureEvents() {
  const events = [];
  for (let n = 0; n < PAGE_VIEWS; n++) {
    const base = {
      v: 1, site: SITE, path: PAGE, url: `https://${PAGE}`, visitor_id: `v${n % 5}`,
      session_id: `s${n}`, pageview_id: `pv${n}`, viewport_w: 1280, viewport_h: VIEWPORT_H,
      doc_h: DOC_H,
    };
    let seq = 0;
    const ts = T0 + n * 60_000;
    const add = (fields) => events.push({ ...base, seq: seq++, ...fields });
    add({ type: "pageview", ts });
    for (let k = 0; k < 3; k++) {
      add({ type: "click", ts: ts + 1000 + k * 2000, x: 300 + k * 4, y: 200 + k * 3, target: "button.cta", target_rx: 0.5, target_ry: 0.5 });
    }
    if (n % 3 === 0) {
      add({ type: "click", ts: ts + 9000, x: 900, y: 1300, target: "a.pricing", link: "https://report.example/pricing" });
    }
    for (let k = 0; k < 10; k++) {
      add({ type: "move", ts: ts + 500 + k * 100, x: 250 + k * 20, y: 180 + k * 10 });
    }
    const scrollY = Math.min(DOC_H - VIEWPORT_H, n * 150);
    add({ type: "scroll", ts: ts + 12_000, scroll_y: scrollY });
    add({ type: "leave", ts: ts + 20_000, scroll_y: scrollY });
  }
  events.push({
    v: 1, site: OTHER_SITE, path: `${OTHER_SITE}/landing`, pageview_id: "ov1", seq: 0,
    type: "click", ts: T0, x: 10, y: 10, target: "div.other-site-secret",
  });
  return events;
}

const work = mkdtempSync(join(tmpdir(), "heatlake-report-"));
const out = args.out ?? mkdtempSync(join(tmpdir(), "heatlake-report-screenshot-"));
mkdirSync(out, { recursive: true });
const reportPath = join(work, "report.html");
let context;

before(async () => {
  const input = join(work, "events.ndjson");
  writeFileSync(input, fixtureEvents().map((event) => JSON.stringify(event)).join("\n") + "\n");
  const env = { ...process.env, HEATLAKE_HOME: join(work, "data") };
  const table = join(work, "events");
  execFileSync(args.heatlake, ["import", "--table", table, input], { env, stdio: "pipe" });
  execFileSync(
    args.heatlake,
    ["report", "--table", table, "--version", "0", "--site", SITE, "--page", PAGE,
      "--device", "desktop", "--bin-px", "20", "--out", reportPath],
    { env, stdio: "pipe" },
  );
  context = await freshContext();
});

after(async () => {
  await context?.closeAll();
  rmSync(work, { recursive: true, force: true });
});

test("the report renders: pictures loaded, chart and tables filled, version and parameters shown", async () => {
  const html = readFileSync(reportPath, "utf8");
  assert.ok(!html.includes(OTHER_SITE) && !html.includes("other-site-secret"), "nothing of the other site");
  assert.ok(!/<script|src="http|href="http/.test(html), "self-contained: no scripts, no external resources");

  const page = await context.newPage();
  const requests = [];
  page.on("request", (request) => requests.push(request.url()));
  await page.goto(`file://${reportPath}`);
  await page.waitForLoadState("load");

  const images = await page.$$eval("img", (all) =>
    all.map((img) => ({ alt: img.alt, complete: img.complete, width: img.naturalWidth, height: img.naturalHeight })),
  );
  assert.deepEqual(images.map((img) => img.alt), ["click heatmap", "move heatmap"]);
  for (const img of images) {
    assert.ok(img.complete && img.width > 0 && img.height > 0, `${img.alt} loaded: ${JSON.stringify(img)}`);
  }
  // The picture is 40 px of scale plus the widest cell (x 900 px in 20 px cells: 46 cells).
  assert.equal(images[0].width, 40 + 46 * 20);

  // The hottest pixel of the click picture (nearest the top of the viridis ramp, outside the
  // scale and the legend) is on the call to action, about (304, 203) page px.
  const hottest = await page.$eval("img[alt='click heatmap']", (img) => {
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const draw = canvas.getContext("2d");
    draw.drawImage(img, 0, 0);
    const { data } = draw.getImageData(0, 0, canvas.width, canvas.height);
    const top = [253, 231, 37];
    let best = { distance: Infinity, x: 0, y: 0 };
    for (let y = 0; y < canvas.height - 44; y++) {
      for (let x = 40; x < canvas.width; x++) {
        const at = (y * canvas.width + x) * 4;
        const distance = Math.abs(data[at] - top[0]) + Math.abs(data[at + 1] - top[1]) + Math.abs(data[at + 2] - top[2]);
        if (distance < best.distance) best = { distance, x: x - 40, y };
      }
    }
    return best;
  });
  assert.ok(Math.abs(hottest.x - 304) <= 20 && Math.abs(hottest.y - 203) <= 20, JSON.stringify(hottest));

  // The query table: site, page, table version 0, and the parameters given.
  const query = Object.fromEntries(
    await page.$$eval("table:first-of-type tr", (rows) =>
      rows.map((row) => [row.querySelector("th").textContent, row.querySelector("td").textContent]),
    ),
  );
  assert.equal(query.site, SITE);
  assert.equal(query.page, PAGE);
  assert.equal(query["table version"], "0");
  assert.equal(query.bin_px, "20");
  assert.equal(query.device, "desktop");

  // The scroll chart: an inline SVG with a drawn curve.
  const svg = await page.$eval("svg", (element) => {
    const box = element.getBoundingClientRect();
    return { width: box.width, height: box.height, shapes: element.querySelectorAll("path, polyline, rect, line").length };
  });
  assert.ok(svg.width > 100 && svg.height > 50 && svg.shapes > 0, JSON.stringify(svg));

  // Headings, then the tables: the scroll summary counts the page views, CTR names the button.
  const headings = await page.$$eval("h2", (all) => all.map((h) => h.textContent));
  assert.deepEqual(headings, ["Query", "Heatmaps", "Scroll depth", "Click-through per element", "Frustration per element"]);
  const tables = await page.$$eval("table", (all) =>
    all.map((table) => ({
      header: [...table.querySelectorAll("th")].map((th) => th.textContent),
      rows: [...table.querySelectorAll("tr")].filter((tr) => tr.querySelector("td")).map((tr) =>
        [...tr.querySelectorAll("td")].map((td) => td.textContent)),
    })),
  );
  assert.equal(tables.length, 4, "query, scroll summary, CTR, frustration");
  const summary = tables[1];
  const pageviews = summary.rows[0][summary.header.indexOf("pageviews")];
  assert.equal(pageviews, String(PAGE_VIEWS));
  const ctr = tables[2];
  const cta = ctr.rows.find((row) => row.includes("button.cta"));
  assert.ok(cta, `button.cta in the CTR table: ${JSON.stringify(ctr)}`);
  assert.ok(cta.includes(String(PAGE_VIEWS * 3)), `36 clicks on button.cta: ${JSON.stringify(cta)}`);

  assert.ok(requests.every((url) => url.startsWith("file:") || url.startsWith("data:")), requests.join("\n"));
  const screenshot = join(out, "report.png");
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`report screenshot: ${screenshot}`);
  await page.close();
});
