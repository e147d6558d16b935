#!/usr/bin/env node
// Injects origin_handler/policy.json into the CloudFront Function template exactly as
// Terraform's templatefile(path, { policy_json = file(".../policy.json") }) does, writes
// build/cloudfront/viewer-request.js and prints its size against the 10 KB limit.
//
//   node cloudfront/build.mjs [--out FILE]
//
// No dependencies; the tests import buildViewerRequest() so they run the same step.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const TEMPLATE_PATH = join(ROOT, 'cloudfront', 'viewer-request.js.tftpl');
export const POLICY_PATH = join(ROOT, 'origin_handler', 'policy.json');
export const OUT_PATH = join(ROOT, 'build', 'cloudfront', 'viewer-request.js');
/** CloudFront Functions maximum function size (bytes, after injection). */
export const MAX_FUNCTION_BYTES = 10 * 1024;
const PLACEHOLDER = '${policy_json}';

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

/** Read template and policy from disk and return the deployable function source. */
export function buildViewerRequest({ templatePath = TEMPLATE_PATH, policyPath = POLICY_PATH } = {}) {
  return renderTemplate(readFileSync(templatePath, 'utf8'), readFileSync(policyPath, 'utf8'));
}

function main(argv) {
  const i = argv.indexOf('--out');
  const out = i >= 0 ? resolve(argv[i + 1]) : OUT_PATH;
  const code = buildViewerRequest();
  const bytes = Buffer.byteLength(code, 'utf8');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, code);
  const pct = ((100 * bytes) / MAX_FUNCTION_BYTES).toFixed(1);
  console.log(`${out}: ${bytes} bytes (${pct}% of the ${MAX_FUNCTION_BYTES}-byte limit)`);
  if (bytes > MAX_FUNCTION_BYTES) {
    console.error('too large for CloudFront Functions');
    process.exitCode = 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2));
}
