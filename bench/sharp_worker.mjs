// sharp as a pipeline in bench/bench.py: what aws-samples/image-optimization, AWS's Dynamic
// Image Transformation for CloudFront and the Next.js image optimizer run for a width-only
// resize, with the encoder settings the other bench pipelines get.
//
//   node bench/sharp_worker.mjs '{"source": "...", "width": 640, "format": "webp",
//                                 "quality": 82, "effort": 4, "runs": 5}'
//   node bench/sharp_worker.mjs --versions
//
// Prints one JSON line: {"ms": best wall ms of the runs, "bytes": output size, "rss_mb": peak RSS}.
// The parent (bench.py) has already pinned itself to one CPU; the affinity mask is inherited.
// Colour: sharp's defaults, which are what the pyvips column asks for with
// export_profile="srgb": an embedded ICC profile is converted to sRGB (icc_transform), the
// output is sRGB and carries no profile or other metadata.
import { readFileSync } from "node:fs";
import sharp from "sharp";

sharp.concurrency(1); // one libvips worker thread per image
sharp.cache(false); // no operation cache: every run decodes again

if (process.argv[2] === "--versions") {
  console.log(JSON.stringify(sharp.versions));
  process.exit(0);
}

const opts = JSON.parse(process.argv[2]);
const input = readFileSync(opts.source);

function pipeline() {
  let img = sharp(input)
    .rotate() // EXIF orientation
    .resize({ width: opts.width, withoutEnlargement: true });
  switch (opts.format) {
    case "webp":
      return img.webp({ quality: opts.quality, effort: opts.effort });
    case "avif":
      // libvips heifsave: aom cpu-used = 9 - effort; chroma as the project encodes it.
      return img.avif({
        quality: opts.quality,
        effort: opts.effort,
        chromaSubsampling: opts.chroma ?? "4:2:0",
      });
    case "jpeg":
      img = img.flatten({ background: "#ffffff" }); // no-op without alpha, as in pyvips
      return img.jpeg({ quality: opts.quality, mozjpeg: false });
    default:
      throw new Error(`unknown format ${opts.format}`);
  }
}

let body = await pipeline().toBuffer(); // warm-up
const times = [];
for (let i = 0; i < opts.runs; i++) {
  const started = performance.now();
  body = await pipeline().toBuffer();
  times.push(performance.now() - started);
}
// Best of N, like the Python workers: on a shared machine interference only adds time.
const ms = Math.min(...times);
const rssMb = process.resourceUsage().maxRSS / 1024; // maxRSS is in KB
console.log(JSON.stringify({ ms, bytes: body.length, rss_mb: rssMb }));
