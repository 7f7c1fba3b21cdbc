// Reading back what the collector stored: `heatlake sql --format json` over the table, and every
// Parquet file of it for the masking check.
import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    collector: { type: "string", default: process.env.HEATLAKE_COLLECTOR },
    table: { type: "string", default: process.env.HEATLAKE_TABLE },
    heatlake: { type: "string", default: process.env.HEATLAKE_BIN || "heatlake" },
  },
  strict: false,
});
if (!values.collector || !values.table) {
  console.error("usage: node tests/browser/tracker.test.mjs --collector URL --table DIR [--heatlake BIN]");
  process.exit(2);
}
export const config = {
  collector: values.collector.endsWith("/") ? values.collector : values.collector + "/",
  table: values.table,
  heatlake: values.heatlake,
};

// How long a test waits for its events to reach the table (the collector's flush age plus a Delta
// commit, on a loaded 2-core machine).
const WAIT_MS_MAX = 60000;
const POLL_MS = 500;

// Rows of a query, one object per row. Ids are cast to text where they are wanted: JSON numbers
// lose 64-bit integers.
export function sqlRows(query) {
  let out;
  try {
    out = execFileSync(config.heatlake, ["sql", "--table", config.table, "--format", "json", query], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (error) {
    // No table yet (nothing committed): no rows.
    if (/no table at|not a Delta table/i.test(String(error.stderr))) return [];
    throw new Error(`heatlake sql failed: ${error.stderr || error.message}\n${query}`);
  }
  return out
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line));
}

const COLUMNS = `type, seq, CAST(ts AS BIGINT) / 1000 AS ts_ms, url, path, referrer, title, x, y,
  target, target_rx, target_ry, target_fixed, button, dead, link, text, viewport_w, viewport_h,
  doc_w, doc_h, scroll_x, scroll_y, device, browser, os, field, input_len, value, duration_ms`;

// Every event of the page views whose url carries `run=TOKEN`, in the order they happened.
export function eventsOfRun(token) {
  return sqlRows(`SELECT ${COLUMNS} FROM events WHERE pageview_id IN (
      SELECT pageview_id FROM events WHERE type = 'pageview' AND url LIKE '%run=${token}%')
    ORDER BY pageview_id, seq`);
}

// Click counts per `bin_px` cell of the run's page views, hottest first; fixed targets apart.
export function heatmapCells(token, binPx) {
  return sqlRows(`SELECT CAST(floor(x / ${binPx}.0) AS BIGINT) AS cx, CAST(floor(y / ${binPx}.0) AS BIGINT) AS cy,
      count(*) AS clicks
    FROM events WHERE type = 'click' AND target_fixed IS NOT TRUE AND pageview_id IN (
      SELECT pageview_id FROM events WHERE type = 'pageview' AND url LIKE '%run=${token}%')
    GROUP BY 1, 2 ORDER BY clicks DESC, cx, cy`);
}

// Polls `read` until `ready(rows)` holds; fails naming what it waited for.
export async function waitFor(read, ready, what) {
  const deadline = Date.now() + WAIT_MS_MAX;
  let rows = [];
  while (Date.now() < deadline) {
    rows = await read();
    if (ready(rows)) return rows;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new Error(`waited ${WAIT_MS_MAX} ms for ${what}; last read: ${JSON.stringify(rows).slice(0, 2000)}`);
}

// All strings stored in the table: every value of every column of every Parquet file (read with
// pyarrow, independently of Heatlake's reader) and the Delta log, whose statistics hold minima and
// maxima of columns.
export function storedStrings() {
  const script = `
import glob, json, os, sys
import pyarrow.parquet as pq
table = sys.argv[1]
parts, files = [], 0
for path in glob.glob(os.path.join(table, "**", "*.parquet"), recursive=True):
    files += 1
    data = pq.read_table(path)
    for column in data.columns:
        parts.extend(str(value) for value in column.to_pylist() if value is not None)
for path in glob.glob(os.path.join(table, "_delta_log", "*")):
    with open(path, "rb") as log:
        parts.append(log.read().decode("utf-8", "replace"))
print(json.dumps({"files": files, "text": "\\n".join(parts)}))
`;
  const out = execFileSync("python3", ["-c", script, config.table], {
    encoding: "utf8",
    maxBuffer: 1 << 30,
  });
  return JSON.parse(out);
}
