// Runs every parity vector through the uploaded artefact under njs (Debian package `njs`),
// an ES 5.1-plus engine close to the CloudFront Functions runtime: syntax or built-ins
// the edge lacks fail here. A missing njs is a failure, not a skip.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';

import { POLICY_PATH, ROOT, TEMPLATE_PATH, minifyFunction, readArtefact, renderTemplate } from '../build.mjs';

// The artefact is an ES module (it imports cloudfront and crypto): njs runs it as one, with
// cloudfront/njs-modules/cloudfront.js standing in for the runtime's KeyValueStore module
// and njs's own crypto for the runtime's.
const RUNNER = `
runVectors(handler, VECTORS).then(function (summary) {
  for (var i = 0; i < summary.failures.length; i++) console.log('FAIL ' + summary.failures[i]);
  console.log('njs: ' + summary.vectors + ' vectors, ' + summary.checks + ' checks, ' + summary.failed + ' failed');
});
`;
export const NJS_MODULES = join(ROOT, 'cloudfront', 'njs-modules');

function runUnderNjs(code, vectors, name, kvs = {}) {
  const script = [
    code,
    readFileSync(join(ROOT, 'cloudfront', 'vector-harness.js'), 'utf8'),
    `var VECTORS = ${JSON.stringify(vectors)};`,
    `globalThis.KVS_CONTENTS = ${JSON.stringify(kvs)};`,
    RUNNER,
  ].join('\n');
  const dir = join(ROOT, 'build', 'cloudfront');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `njs-${name}.js`);
  writeFileSync(file, script);

  const run = spawnSync('njs', ['-t', 'module', '-p', NJS_MODULES, file], { encoding: 'utf8', timeout: 60_000 });
  if (run.error) {
    assert.fail(`cannot run njs (${run.error.code}): install the Debian package njs (scripts/system-deps.sh)`);
  }
  const out = `${run.stdout}${run.stderr}`;
  assert.equal(run.status, 0, out);
  const m = /njs: (\d+) vectors, (\d+) checks, (\d+) failed/.exec(run.stdout);
  assert.ok(m, out);
  assert.equal(Number(m[1]), vectors.length);
  assert.ok(Number(m[2]) > vectors.length, 'fallback checks ran too');
  assert.equal(Number(m[3]), 0, out);
}

const { vectors, policies } = JSON.parse(readFileSync(join(ROOT, 'tests', 'fixtures', 'vectors.json'), 'utf8'));

test('every vector passes under njs', () => runUnderNjs(readArtefact(), vectors, 'vectors'));

test('every patched-policy vector passes under njs (the function built with that policy)', async () => {
  for (const [i, group] of policies.entries()) {
    const policy = { ...JSON.parse(readFileSync(POLICY_PATH, 'utf8')), ...group.patch };
    const code = await minifyFunction(renderTemplate(readFileSync(TEMPLATE_PATH, 'utf8'), JSON.stringify(policy)));
    runUnderNjs(code, group.vectors, `policy-${i}`, group.kvs || {});
  }
});
