// Builds dist/heatlake.js (committed, so the Rust server embeds it without Node) and checks it.
//
//   node build.mjs           rebuild dist/heatlake.js
//   node build.mjs --check   fail if dist/heatlake.js is stale or larger than the gzip budget
import { build } from "esbuild";
import { readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

// The size budget of issue #5: at most 6 KB gzip.
const GZIP_BYTES_MAX = 6 * 1024;
const OUTPUT = new URL("./dist/heatlake.js", import.meta.url);

const result = await build({
  entryPoints: [new URL("./src/heatlake.js", import.meta.url).pathname],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2017"],
  legalComments: "none",
  write: false,
});
const code = result.outputFiles[0].text;
const gzipBytes = gzipSync(code, { level: 9 }).length;
const rawBytes = Buffer.byteLength(code);
console.log(`dist/heatlake.js: ${rawBytes} bytes, ${gzipBytes} bytes gzip (budget ${GZIP_BYTES_MAX})`);

let failed = false;
if (gzipBytes > GZIP_BYTES_MAX) {
  console.error(`tracker: ${gzipBytes} bytes gzip is over the ${GZIP_BYTES_MAX}-byte budget`);
  failed = true;
}
if (process.argv.includes("--check")) {
  let committed = "";
  try {
    committed = readFileSync(OUTPUT, "utf8");
  } catch {}
  if (committed !== code) {
    console.error("tracker: dist/heatlake.js is stale; run `npm run build` in tracker/ and commit it");
    failed = true;
  }
} else {
  writeFileSync(OUTPUT, code);
}
process.exit(failed ? 1 : 0);
