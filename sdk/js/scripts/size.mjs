// The SDK's size as an application ships it: bundled, minified and gzipped (esbuild, zlib).
// Compare with socket.io-client's socket.io.min.js: 14.7 kB gzipped.
import { build } from "esbuild";
import { gzipSync } from "node:zlib";

const result = await build({
  entryPoints: ["dist/index.js"],
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  write: false,
});
const code = result.outputFiles[0].contents;
const gzipped = gzipSync(code, { level: 9 }).length;
console.log(
  `minified: ${(code.length / 1000).toFixed(1)} kB, minified + gzipped: ${(gzipped / 1000).toFixed(1)} kB`,
);
