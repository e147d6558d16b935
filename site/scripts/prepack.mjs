#!/usr/bin/env node
// `npm pack` runs this first (prepack). It copies origin_handler/policy.json into the
// package as lib/policy.mjs (a plain ES module: no JSON import attribute for bundlers to
// trip on) and lib/policy.d.mts (the same values as literal types, so TypeScript knows the
// allowed formats and fits), and refuses to pack when package.json's version is not the
// Python package's (pyproject.toml). `--check` changes nothing: exit 1 on any drift.
//
//   node site/scripts/prepack.mjs [--check]
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SITE = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const POLICY_JSON = join(SITE, '..', 'origin_handler', 'policy.json');
export const PYPROJECT = join(SITE, '..', 'pyproject.toml');
export const OUTPUTS = { js: join(SITE, 'lib', 'policy.mjs'), dts: join(SITE, 'lib', 'policy.d.mts') };

const HEADER = '// Generated from origin_handler/policy.json by site/scripts/prepack.mjs: do not edit.\n';

function literalType(value, indent = '') {
  if (Array.isArray(value)) return `readonly [${value.map((v) => literalType(v, indent)).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const inner = `${indent}  `;
    const fields = Object.entries(value).map(([k, v]) => `${inner}readonly ${k}: ${literalType(v, inner)};`);
    return `{\n${fields.join('\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}

/** The two generated files' contents for a policy file's text. */
export function render(policyText) {
  const policy = JSON.parse(policyText);
  return {
    js: `${HEADER}export default {\n${Object.entries(policy)
      .map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)},`)
      .join('\n')}\n};\n`,
    dts: `${HEADER}declare const policy: ${literalType(policy)};\nexport default policy;\n`,
  };
}

/** Which generated files (js, dts) differ from what policyPath renders to. */
export function drift({ policyPath = POLICY_JSON, outputs = OUTPUTS } = {}) {
  const wanted = render(readFileSync(policyPath, 'utf8'));
  const stale = Object.keys(outputs).filter((k) => {
    try {
      return readFileSync(outputs[k], 'utf8') !== wanted[k];
    } catch {
      return true;
    }
  });
  return { wanted, stale };
}

/** The [project] version in pyproject.toml. */
export function pythonVersion(text = readFileSync(PYPROJECT, 'utf8')) {
  const project = text.split(/^\[/m).find((s) => s.startsWith('project]'));
  const m = project && /^version\s*=\s*"([^"]+)"/m.exec(project);
  if (!m) throw new Error(`no [project] version in ${PYPROJECT}`);
  return m[1];
}

function main(argv) {
  const { version } = JSON.parse(readFileSync(join(SITE, 'package.json'), 'utf8'));
  const python = pythonVersion();
  if (version !== python) {
    console.error(`site/package.json version ${version} is not pyproject.toml's ${python}: make them equal`);
    process.exitCode = 1;
  }
  const { wanted, stale } = drift();
  if (argv.includes('--check')) {
    for (const k of stale) console.error(`${OUTPUTS[k]} differs from ${POLICY_JSON}: run node site/scripts/prepack.mjs`);
    if (stale.length) process.exitCode = 1;
    return;
  }
  if (process.exitCode) return;
  for (const k of stale) writeFileSync(OUTPUTS[k], wanted[k]);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2));
}
