// Reference vectors for origin_handler/pipeline/thumbhash.py, from the reference encoder.
//
//   npm install --no-save --prefix /tmp/th thumbhash@0.1.1   (evanw/thumbhash on npm)
//   NODE_PATH=/tmp/th/node_modules node scripts/thumbhash-vectors.mjs
//
// Rewrites tests/fixtures/thumbhash_vectors.json: synthetic cases made here (gradients,
// noise, alpha ramps, flat colours, edge sizes), plus the cases already in the file whose
// "source" is "photo" (RGBA of downscaled sample photos, kept as they are). Every case's
// "hash" (base64) is what rgbaToThumbHash answers for its "rgba" (base64).
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { rgbaToThumbHash } = await import(require.resolve("thumbhash"));
const OUT = new URL("../tests/fixtures/thumbhash_vectors.json", import.meta.url);

// A small deterministic generator (LCG), so the noise cases are reproducible.
function lcg(seed) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24;
}

function image(w, h, pixel) {
  const rgba = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) rgba.set(pixel(x, y), (y * w + x) * 4);
  return { w, h, rgba };
}

const synthetic = {
  "gradient-32x24": image(32, 24, (x, y) => [x * 8, y * 10, 255 - x * 4, 255]),
  "gradient-24x32": image(24, 32, (x, y) => [y * 7, 128, x * 10, 255]),
  "noise-32x32": (() => { const r = lcg(1); return image(32, 32, () => [r(), r(), r(), 255]); })(),
  "noise-alpha-31x17": (() => { const r = lcg(2); return image(31, 17, () => [r(), r(), r(), r()]); })(),
  "alpha-ramp-32x16": image(32, 16, (x, y) => [200, 40 + y * 8, 90, x * 8]),
  "alpha-disc-20x20": image(20, 20, (x, y) =>
    (x - 9.5) ** 2 + (y - 9.5) ** 2 < 64 ? [250, 120, 0, 255] : [0, 0, 0, 0]),
  "transparent-8x8": image(8, 8, () => [0, 0, 0, 0]),
  "flat-grey-16x16": image(16, 16, () => [128, 128, 128, 255]),
  "flat-red-7x5": image(7, 5, () => [255, 0, 0, 255]),
  "white-1x1": image(1, 1, () => [255, 255, 255, 255]),
  "stripes-60x60": image(60, 60, (x) => (x % 10 < 5 ? [0, 0, 0, 255] : [255, 255, 255, 255])),
  "checker-100x3": image(100, 3, (x, y) => ((x + y) % 2 ? [20, 200, 60, 255] : [220, 30, 90, 255])),
  "tall-2x100": image(2, 100, (x, y) => [y * 2, x * 255, 100, 255 - y]),
};

const b64 = (bytes) => Buffer.from(bytes).toString("base64");
const cases = Object.entries(synthetic).map(([name, { w, h, rgba }]) => ({
  name, source: "synthetic", w, h, rgba: b64(rgba),
}));
if (existsSync(OUT))
  for (const c of JSON.parse(readFileSync(OUT, "utf8")).cases)
    if (c.source === "photo") cases.push({ name: c.name, source: c.source, w: c.w, h: c.h, rgba: c.rgba });
for (const c of cases) c.hash = b64(rgbaToThumbHash(c.w, c.h, Buffer.from(c.rgba, "base64")));

const doc = {
  generator: "scripts/thumbhash-vectors.mjs with npm thumbhash@0.1.1 (evanw/thumbhash)",
  cases,
};
writeFileSync(OUT, JSON.stringify(doc, null, 1) + "\n");
console.log(`${cases.length} cases → ${OUT.pathname}`);
