// Bundle src/ into one script for the bank's page: bot/desk/static/widget.js.
// Fails when the gzipped bundle outgrows the budget (slow mobile networks).
import { build } from "esbuild";
import { gzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const BUDGET_BYTES = 60 * 1024;
const outfile = fileURLToPath(new URL("../bot/desk/static/widget.js", import.meta.url));

await build({
  entryPoints: [fileURLToPath(new URL("src/main.ts", import.meta.url))],
  outfile,
  bundle: true,
  minify: true,
  format: "iife",
  platform: "browser",
  target: "es2019",
  legalComments: "none",
  banner: { js: "/*! helpline chat widget | includes socket.io-client (MIT) */" },
  logLevel: "warning",
});

const bytes = readFileSync(outfile);
const gzipped = gzipSync(bytes, { level: 9 }).length;
console.log(`widget.js: ${(bytes.length / 1024).toFixed(1)} KB, ${(gzipped / 1024).toFixed(1)} KB gzipped`);
if (gzipped > BUDGET_BYTES) {
  console.error(`widget.js is over the ${BUDGET_BYTES / 1024} KB gzipped budget`);
  process.exit(1);
}
