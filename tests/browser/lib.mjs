// Shared parts of the browser tests: the system Chromium, the fixture flows with the values they
// must produce, and reading the table back through `heatlake sql`.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const VIEWPORT = { width: 1280, height: 800 };
export const SITE = "fixture";
export const WRITE_KEY = "fixture-write-key";
const here = new URL(".", import.meta.url).pathname;
export const RRWEB_BUNDLE = join(here, "node_modules/rrweb/dist/rrweb.umd.min.cjs");
export const RRWEB_RECORDER = join(here, "rrweb-recorder.js");

// The flags this machine's Chromium needs (no sandbox as root, no calls to Google's hosts).
const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

// A browser with a new, empty profile: each test starts as a new visitor. `preferences` go into
// the profile before Chromium starts (for example `{ enable_do_not_track: true }`).
export async function freshContext(options = {}, preferences = null) {
  const userDataDir = mkdtempSync(join(tmpdir(), "heatlake-chromium-"));
  if (preferences) {
    mkdirSync(join(userDataDir, "Default"));
    writeFileSync(join(userDataDir, "Default", "Preferences"), JSON.stringify(preferences));
  }
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: VIEWPORT,
    ...options,
  });
  context.closeAll = async () => {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  };
  return context;
}

// Records the page with rrweb instead of the tracker: the tracker script is blocked, the rrweb
// bundle and the recorder glue run before the page's own scripts.
export async function useRrweb(page, config) {
  await page.route("**/t.js", (route) => route.abort());
  await page.addInitScript({ content: `window.__heatlakeRrweb = ${JSON.stringify(config)};` });
  await page.addInitScript({ path: RRWEB_BUNDLE });
  await page.addInitScript({ path: RRWEB_RECORDER });
}

// Longer than the tracker's dead-click window (700 ms).
const DEAD_CLICK_WAIT_MS = 900;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function scrollTo(page, y) {
  await page.evaluate((top) => window.scrollTo(0, top), y);
  await sleep(400); // past the tracker's 250 ms and rrweb's 100 ms scroll throttles
}

// Clicks `selector` at (dx, dy) inside it with the real mouse; returns what the table must hold.
async function clickAt(page, selector, dx, dy, fixed) {
  const box = await page.locator(selector).boundingBox();
  const scroll = await page.evaluate(() => ({ x: window.scrollX, y: window.scrollY }));
  const clientX = box.x + dx;
  const clientY = box.y + dy;
  await page.mouse.click(clientX, clientY);
  await sleep(100);
  return {
    x: clientX + scroll.x,
    y: fixed ? clientY : clientY + scroll.y,
    page_y: clientY + scroll.y,
    target_rx: dx / box.width,
    target_ry: dy / box.height,
    target_fixed: fixed,
    button: 0,
  };
}

// The buttons page as a visitor uses it. Returns the expected clicks, in order, and the maximum
// scroll depth reached.
export async function buttonsFlow(page) {
  const buy = "main > section.offer:nth-of-type(1) > button.buy.primary:nth-of-type(1)";
  const nothing = "main > section.offer:nth-of-type(1) > button.nothing:nth-of-type(2)";
  const menu = "header.top > nav > button.menu";
  const late = "button#late";
  const clicks = [];
  await page.mouse.move(10, 300);
  await page.mouse.move(640, 500, { steps: 10 });
  clicks.push({ target: buy, ...(await clickAt(page, buy, 50, 20, false)), dead: false });
  clicks.push({ target: nothing, ...(await clickAt(page, nothing, 100, 40, false)), dead: true });
  await sleep(DEAD_CLICK_WAIT_MS); // a scroll right after would count as the click's effect
  await scrollTo(page, 1000);
  clicks.push({ target: menu, ...(await clickAt(page, menu, 80, 20, true)), dead: true });
  await sleep(DEAD_CLICK_WAIT_MS);
  await scrollTo(page, 2200);
  clicks.push({ target: late, ...(await clickAt(page, late, 60, 25, false)), dead: false });
  await scrollTo(page, 0);
  // A keyboard activation is placed at the element's centre and has no button.
  await page.focus(buy);
  await page.keyboard.press("Enter");
  clicks.push({
    target: buy,
    x: 300,
    y: 440,
    page_y: 440,
    target_rx: 0.5,
    target_ry: 0.5,
    target_fixed: false,
    button: null,
    dead: false,
  });
  await sleep(1000); // past the dead-click window
  return { clicks, depth: (2200 + VIEWPORT.height) / 4000 };
}

export const TYPED = {
  name: "Jane Quxley",
  email: "jane.quxley@example.com",
  card: "4111 1111 1111 1111",
  comment: "zebra umbrella quartz",
};

// Types into every field of the form page, including an e-mail and a card number.
export async function formFlow(page) {
  for (const [id, text] of Object.entries(TYPED)) {
    await page.click(`#${id}`);
    await page.keyboard.type(text, { delay: 20 });
  }
  await page.click("#pay");
  await sleep(800);
}

export function readJson(path) {
  return JSON.parse(readFileSync(path, "utf8"));
}

export { sleep };
