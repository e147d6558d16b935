#!/usr/bin/env node
// Builds the viewer-request CloudFront Function that Terraform uploads:
// cloudfront/viewer-request.js.tftpl with origin_handler/policy.json injected (exactly as
// Terraform's templatefile() would), then minified by terser to ES5 — the committed
// artefact cloudfront/viewer-request.min.js, which terraform/ reads with file().
//
//   node cloudfront/build.mjs            # rewrite the artefact, print its size
//   node cloudfront/build.mjs --check    # exit 1 when the artefact is not what the build makes
//   node cloudfront/build.mjs --out FILE # write elsewhere
//
// Why a committed artefact: `terraform apply` then needs no node and no npm, and a test
// rebuilds and compares it (cloudfront/test/build.test.mjs), so it cannot drift from the
// template or the policy. terser is the one dependency (cloudfront/package.json, installed
// by `npm ci --prefix cloudfront`, which `make test` runs); it is imported lazily so the
// paths and renderTemplate() work without it.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const TEMPLATE_PATH = join(ROOT, 'cloudfront', 'viewer-request.js.tftpl');
export const POLICY_PATH = join(ROOT, 'origin_handler', 'policy.json');
/** The exact bytes Terraform uploads (terraform/locals.tf: file() of this path). */
export const ARTEFACT_PATH = join(ROOT, 'cloudfront', 'viewer-request.min.js');
/** CloudFront Functions maximum function size (bytes). */
export const MAX_FUNCTION_BYTES = 10 * 1024;
/** Our budget: 3 KB of the limit stay free for the next features (signing took 1 KB). */
export const BUDGET_BYTES = 7 * 1024;
const PLACEHOLDER = '${policy_json}';
const BANNER = '// Built by cloudfront/build.mjs from viewer-request.js.tftpl + policy.json: do not edit.';

// ecma 5 output and no unsafe transforms: the cloudfront-js-2.0 runtime (and njs, which the
// tests run it under) is ES 5.1 plus a subset of later features, so nothing newer than the
// source may appear. toplevel renames every top-level name except `handler`, the entry
// point CloudFront calls; ascii_only keeps the regex ranges (\x00-\x1f) as escapes.
// module: the function imports the runtime's cloudfront and crypto modules.
export const TERSER_OPTIONS = Object.freeze({
  ecma: 5,
  module: true,
  toplevel: true,
  compress: { passes: 2, top_retain: ['handler'] },
  mangle: { reserved: ['handler'] },
  format: { ascii_only: true },
});

// The policy's signing mode as injected into the rendered source (JSON, any layout).
const SIGNING_MODE = /"signing"\s*:\s*\{\s*"mode"\s*:\s*"([a-z]+)"/;

/** The artefact's first lines; Terraform checks the signing line against policy.json. */
export function preamble(code) {
  const m = SIGNING_MODE.exec(code);
  return `${BANNER}\n// signing: ${m ? m[1] : 'off'}`;
}

/** Render the template the way templatefile() would; refuse anything it would treat differently. */
export function renderTemplate(template, policyText) {
  const interpolations = template.split('${').length - 1;
  if (interpolations !== 1 || !template.includes(PLACEHOLDER)) {
    throw new Error(`template must contain exactly one ${PLACEHOLDER} and no other \${ sequence`);
  }
  if (template.includes('%{')) {
    throw new Error('template must not contain %{ (a Terraform template directive)');
  }
  JSON.parse(policyText); // fail here, not at the edge, on a broken policy file
  return template.replace(PLACEHOLDER, () => policyText);
}

/** The readable function: template + policy from disk, not minified. */
export function renderViewerRequest({ templatePath = TEMPLATE_PATH, policyPath = POLICY_PATH } = {}) {
  return renderTemplate(readFileSync(templatePath, 'utf8'), readFileSync(policyPath, 'utf8'));
}

async function loadTerser() {
  try {
    return await import('terser');
  } catch (e) {
    throw new Error(`terser is not installed: run \`npm ci --prefix cloudfront\` (${e.message})`);
  }
}

/** Minify rendered function source with the pinned terser and TERSER_OPTIONS. */
export async function minifyFunction(code) {
  const { minify } = await loadTerser();
  const format = { ...TERSER_OPTIONS.format, preamble: preamble(code) };
  const result = await minify(code, { ...TERSER_OPTIONS, format });
  return `${result.code}\n`;
}

/** The deployable artefact as the build makes it now (what ARTEFACT_PATH must hold). */
export async function buildViewerRequest(paths = {}) {
  return minifyFunction(renderViewerRequest(paths));
}

/** The committed artefact, byte for byte as Terraform reads it. */
export function readArtefact() {
  return readFileSync(ARTEFACT_PATH, 'utf8');
}

async function main(argv) {
  const code = await buildViewerRequest();
  const bytes = Buffer.byteLength(code, 'utf8');
  if (argv.includes('--check')) {
    if (readArtefact() !== code) {
      console.error(`${ARTEFACT_PATH} is stale: run node cloudfront/build.mjs and commit it`);
      process.exitCode = 1;
    }
    return;
  }
  const i = argv.indexOf('--out');
  const out = i >= 0 ? resolve(argv[i + 1]) : ARTEFACT_PATH;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, code);
  const source = Buffer.byteLength(renderViewerRequest(), 'utf8');
  console.log(
    `${out}: ${bytes} bytes (rendered source ${source}); budget ${BUDGET_BYTES}, limit ${MAX_FUNCTION_BYTES}`,
  );
  if (bytes > BUDGET_BYTES) {
    console.error(`over the ${BUDGET_BYTES}-byte budget`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(e.message);
    process.exitCode = 1;
  });
}
