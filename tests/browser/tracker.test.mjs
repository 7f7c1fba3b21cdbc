// The tracker and the rrweb path in a real Chromium against a running collector, checked in the
// table it writes. Issue #5's acceptance checks, one test each.
//
//   node tests/browser/tracker.test.mjs --collector http://127.0.0.1:8080/ --table DIR [--heatlake BIN]
//
// The collector must serve the tracker at /t.js and tests/browser/pages/ under /pages/, and know
// the site `fixture` with the write key `fixture-write-key` (tests/browser/collector.toml), with
// its own DNT/GPC honouring on (the default).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { randomBytes } from "node:crypto";
import {
  buttonsFlow,
  formFlow,
  freshContext,
  sleep,
  SITE,
  TYPED,
  useRrweb,
  WRITE_KEY,
  VIEWPORT,
} from "./lib.mjs";
import { config, eventsOfRun, heatmapCells, sqlRows, storedStrings, waitFor } from "./table.mjs";

const { collector } = config;
const TOLERANCE_PX = 2;
const TOLERANCE_RELATIVE = 0.02;

// Loads a fixture page as a new visitor, tagged with a run token found again in the stored url.
async function visit(page, name, token) {
  await page.goto(`${collector}pages/${name}.html?run=${token}`);
}

async function leave(page) {
  await page.goto("about:blank"); // pagehide: the tracker sends its leave summary by beacon
}

function newToken() {
  return randomBytes(6).toString("hex");
}

function assertClose(actual, expected, tolerance, what) {
  assert.ok(
    actual != null && Math.abs(actual - expected) <= tolerance,
    `${what}: ${actual}, expected ${expected} ± ${tolerance}`
  );
}

let context;
before(async () => {
  context = await freshContext();
});
after(async () => {
  await context?.closeAll();
});

let trackerClicks;
test("clicks land with their selector, page coordinates, element-relative position and flags", async () => {
  const page = await context.newPage();
  const token = newToken();
  await visit(page, "buttons", token);
  const expected = await buttonsFlow(page);
  await leave(page);
  await page.close();
  const rows = await waitFor(
    () => eventsOfRun(token),
    (rows) => rows.filter((r) => r.type == "click").length >= 5 && rows.some((r) => r.type == "leave"),
    "5 clicks and a leave"
  );
  const clicks = rows.filter((r) => r.type == "click");
  assert.equal(clicks.length, expected.clicks.length);
  clicks.forEach((click, i) => {
    const want = expected.clicks[i];
    assert.equal(click.target, want.target, `click ${i} target`);
    assertClose(click.x, want.x, TOLERANCE_PX, `click ${i} x`);
    assertClose(click.y, want.y, TOLERANCE_PX, `click ${i} y`);
    assertClose(click.target_rx, want.target_rx, TOLERANCE_RELATIVE, `click ${i} target_rx`);
    assertClose(click.target_ry, want.target_ry, TOLERANCE_RELATIVE, `click ${i} target_ry`);
    assert.equal(click.target_fixed ?? false, want.target_fixed, `click ${i} target_fixed`);
    assert.equal(click.button ?? null, want.button, `click ${i} button`);
    assert.equal(click.dead, want.dead, `click ${i} dead`);
    assert.equal(click.viewport_w, VIEWPORT.width);
  });
  trackerClicks = { clicks, depth: depthOf(rows) };
  const pageview = rows.find((r) => r.type == "pageview");
  assert.equal(pageview.doc_h, 4000);
  assert.equal(pageview.title, "Heatlake fixture: buttons");
  // The collector filled `ua` from the User-Agent header (headless Chromium parses as a bot).
  assert.ok(pageview.browser, "browser derived from the User-Agent header");
  assert.ok(rows.filter((r) => r.type == "move").length >= 3, "moves are recorded");
  assertClose(depthOf(rows), expected.depth, 0.05, "depth of the buttons page");
});

// Scroll depth of a page view: its leave summary, else the deepest scroll event.
function depthOf(rows) {
  return Math.max(
    ...rows
      .filter((r) => r.scroll_y != null && r.viewport_h != null && r.doc_h)
      .map((r) => Math.min(1, (r.scroll_y + r.viewport_h) / r.doc_h))
  );
}

test("a click heatmap has its hottest cell on the clicked button", async () => {
  const page = await context.newPage();
  const token = newToken();
  await visit(page, "buttons", token);
  const buy = await page.locator("button.buy").boundingBox();
  for (let i = 0; i < 4; i++) {
    await page.mouse.click(buy.x + 50 + i, buy.y + 20 + i);
    await sleep(150);
  }
  await page.mouse.click(700, 440); // "Does nothing", once
  await page.mouse.click(1080, 32); // the fixed menu, kept apart from page cells
  await leave(page);
  await page.close();
  await waitFor(
    () => eventsOfRun(token),
    (rows) => rows.filter((r) => r.type == "click").length >= 6 && rows.some((r) => r.type == "leave"),
    "6 clicks"
  );
  const [hottest] = await heatmapCells(token, 16);
  assert.equal(hottest.clicks, 4);
  const cellX = hottest.cx * 16 + 8;
  const cellY = hottest.cy * 16 + 8;
  assert.ok(cellX >= buy.x && cellX <= buy.x + buy.width, `cell x ${cellX} on the button`);
  assert.ok(cellY >= buy.y && cellY <= buy.y + buy.height, `cell y ${cellY} on the button`);
});

test("scrolling to 60 % of a long page gives a leave depth of 0.6 ± 0.05", async () => {
  const page = await context.newPage();
  const token = newToken();
  await visit(page, "long", token);
  await page.mouse.move(400, 400);
  // Wheel in steps like a visitor: (2200 + 800) / 5000 = 0.6.
  for (let y = 0; y < 2200; y += 200) {
    await page.mouse.wheel(0, 200);
    await sleep(60);
  }
  await page.waitForFunction(() => window.scrollY >= 2200);
  await sleep(300);
  await leave(page);
  await page.close();
  const rows = await waitFor(
    () => eventsOfRun(token),
    (rows) => rows.some((r) => r.type == "leave"),
    "a leave"
  );
  const leaveRow = rows.find((r) => r.type == "leave");
  assert.equal(leaveRow.doc_h, 5000);
  assert.equal(leaveRow.viewport_h, VIEWPORT.height);
  assertClose((leaveRow.scroll_y + leaveRow.viewport_h) / leaveRow.doc_h, 0.6, 0.05, "leave depth");
  assert.ok(leaveRow.duration_ms > 0, "engaged time");
  assert.ok(rows.filter((r) => r.type == "scroll").length >= 2, "throttled scroll events");
});

test("an SPA navigation gives two page views", async () => {
  const page = await context.newPage();
  const token = newToken();
  await visit(page, "spa", token);
  await page.click("#to-second");
  await page.waitForURL("**/pages/spa/second");
  await page.mouse.click(300, 300);
  await sleep(200);
  await leave(page);
  await page.close();
  // The second page view's url has no run token: find it by its referrer, the first url.
  const rows = await waitFor(
    () =>
      sqlRows(`SELECT type, path, url, referrer, title, CAST(pageview_id AS VARCHAR) AS pv
        FROM events WHERE type = 'pageview' AND (url LIKE '%run=${token}%' OR referrer LIKE '%run=${token}%')
        ORDER BY ts`),
    (rows) => rows.length >= 2,
    "two page views"
  );
  assert.equal(rows.length, 2);
  assert.match(rows[0].path, /\/pages\/spa\.html$/);
  assert.match(rows[1].path, /\/pages\/spa\/second$/);
  assert.notEqual(rows[0].pv, rows[1].pv);
  assert.equal(rows[1].title, "Heatlake fixture: SPA second");
  const firstEvents = await waitFor(
    () => eventsOfRun(token),
    (events) => events.some((r) => r.type == "leave"),
    "the first page view's leave"
  );
  assert.equal(firstEvents.filter((r) => r.type == "pageview").length, 1);
});

test("typed text, a card number and an e-mail address are stored nowhere; only lengths", async () => {
  const page = await context.newPage();
  const token = newToken();
  await visit(page, "form", token);
  await formFlow(page);
  await leave(page);
  await page.close();
  const rows = await waitFor(
    () => eventsOfRun(token),
    (rows) => rows.some((r) => r.type == "leave") && rows.some((r) => r.field == "textarea#comment"),
    "the form's events"
  );
  const typing = rows
    .filter((r) => r.type == "input" || r.type == "change")
    .map((r) => [r.type, r.field, r.input_len ?? null]);
  assert.deepEqual(
    typing.filter(([type]) => type == "input"),
    [
      ["input", "input#name", TYPED.name.length],
      ["input", "textarea#comment", TYPED.comment.length],
    ]
  );
  // Sensitive fields say only that they changed; plain fields report their length on change too.
  assert.deepEqual(
    typing.filter(([type]) => type == "change"),
    [
      ["change", "input#name", TYPED.name.length],
      ["change", "input#email", null],
      ["change", "input#card", null],
      ["change", "textarea#comment", TYPED.comment.length],
    ]
  );
  assert.ok(rows.every((r) => r.value == null && r.text == null));
  await assertNothingTyped();
});

// Every string in every column of every Parquet file of the table, and the Delta log (whose
// statistics hold column minima and maxima), against the typed text and recognisable parts of it.
async function assertNothingTyped() {
  const stored = storedStrings();
  assert.ok(stored.files > 0, "the table has Parquet files");
  const needles = Object.values(TYPED).flatMap((text) => [
    text,
    // Words of it; digit groups only when long enough not to match ids and timestamps by chance.
    ...text.split(/[ @.]/).filter((part) => part.length >= 4 && (/[a-z]/i.test(part) || part.length >= 12)),
    text.replace(/ /g, ""),
  ]);
  for (const needle of needles) {
    assert.ok(!stored.text.includes(needle), `"${needle}" is stored in the table`);
  }
}

// Opt-out, DNT and GPC: the visitor's events must not reach the table. Each case visits the long
// page and acts on it; a control visit without the signal, made afterwards, proves the collector
// has flushed what it received before.
async function assertNothingStored(name, { setup, headers, preferences } = {}) {
  const ctx = await freshContext({ extraHTTPHeaders: headers }, preferences);
  const page = await ctx.newPage();
  const token = newToken();
  const state = setup ? await setup(ctx, page, token) : null;
  await visit(page, "long", token);
  await page.mouse.move(200, 200);
  await page.mouse.click(300, 300);
  await page.mouse.wheel(0, 900);
  await sleep(500);
  await leave(page);
  await ctx.closeAll();
  await controlVisit();
  const since = state?.since ?? 0;
  const rows = eventsOfRun(token).filter((r) => r.ts_ms >= since);
  assert.deepEqual(rows, [], `${name}: nothing stored`);
}

async function controlVisit() {
  const token = newToken();
  const ctx = await freshContext();
  const page = await ctx.newPage();
  await visit(page, "long", token);
  await leave(page);
  await ctx.closeAll();
  await waitFor(() => eventsOfRun(token), (rows) => rows.some((r) => r.type == "leave"), "control");
}

test("opt-out: after heatlake.optOut() nothing is stored", async () => {
  await assertNothingStored("opt-out", {
    setup: async (ctx, page, token) => {
      await visit(page, "long", token);
      await page.waitForFunction(() => window.heatlake);
      const since = Date.now();
      await page.evaluate(() => window.heatlake.optOut());
      const cookies = await ctx.cookies();
      assert.ok(cookies.some((c) => c.name == "heatlake_optout" && c.value == "1"), "opt-out cookie");
      assert.ok(!cookies.some((c) => c.name == "_hl_id"), "the visitor cookie is gone");
      return { since };
    },
  });
});

test("Do Not Track (Chromium's own setting): nothing is stored", async () => {
  await assertNothingStored("DNT", {
    preferences: { enable_do_not_track: true },
    setup: async (ctx, page) => {
      await page.goto(`${collector}pages/long.html`, { waitUntil: "commit" });
      assert.equal(await page.evaluate(() => navigator.doNotTrack), "1", "Chromium sends DNT");
    },
  });
});

test("Global Privacy Control: nothing is stored", async () => {
  await assertNothingStored("GPC", {
    headers: { "Sec-GPC": "1" },
    setup: async (ctx) => {
      // Chromium has no GPC setting: the signal as a GPC browser gives it, header and property.
      await ctx.addInitScript(() =>
        Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true })
      );
    },
  });
});

test("the collector drops events sent with DNT or Sec-GPC headers", async () => {
  const token = newToken();
  for (const [header, value] of [["DNT", "1"], ["Sec-GPC", "1"]]) {
    const event = {
      v: 1,
      site: SITE,
      type: "pageview",
      ts: Date.now(),
      pageview_id: `${header}-${token}`,
      seq: 0,
      url: `${collector}pages/long.html?run=${token}`,
    };
    const response = await fetch(`${collector}v1/events?key=${WRITE_KEY}`, {
      method: "POST",
      headers: { "Content-Type": "application/x-ndjson", [header]: value },
      body: JSON.stringify(event) + "\n",
    });
    assert.ok(response.status < 300, `${header}: answered ${response.status}`);
  }
  await controlVisit();
  assert.deepEqual(eventsOfRun(token), []);
});

test("the same page recorded by rrweb gives the same clicks and scroll depth", async () => {
  assert.ok(trackerClicks, "the tracker's click test ran first");
  const page = await context.newPage();
  const token = newToken();
  await useRrweb(page, { site: SITE, key: WRITE_KEY, collector });
  await visit(page, "buttons", token);
  await page.waitForFunction(() => window.__rrwebEvents !== undefined);
  const expected = await buttonsFlow(page);
  await leave(page);
  await page.close();
  const rows = await waitFor(
    () => eventsOfRun(token),
    (rows) =>
      rows.filter((r) => r.type == "click").length >= 4 &&
      rows.some((r) => r.type == "scroll" && r.scroll_y == 0),
    "the rrweb clicks and scrolls"
  );
  const clicks = rows.filter((r) => r.type == "click");
  // rrweb has no position for keyboard activations; every mouse click must match the tracker's.
  const mouseClicks = trackerClicks.clicks.filter((c) => c.button != null);
  assert.equal(clicks.length, mouseClicks.length);
  clicks.forEach((click, i) => {
    const tracker = mouseClicks[i];
    const want = expected.clicks[i];
    assert.equal(click.target, tracker.target, `rrweb click ${i} target`);
    assertClose(click.x, tracker.x, TOLERANCE_PX, `rrweb click ${i} x`);
    // A header fixed by a stylesheet is not known as fixed from rrweb: its y is the page y.
    assertClose(click.y, tracker.target_fixed ? want.page_y : tracker.y, TOLERANCE_PX, `rrweb click ${i} y`);
  });
  assertClose(depthOf(rows), trackerClicks.depth, 0.05, "rrweb depth vs the tracker's");
  assert.ok(rows.every((r) => r.value == null && r.input_len == null));
});
