// The viewer-response function adds Vary: Accept to negotiated variants only, under node
// and under njs (closer to the CloudFront runtime).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import vm from 'node:vm';

import { ROOT } from '../build.mjs';

const SOURCE = readFileSync(join(ROOT, 'cloudfront', 'viewer-response.js'), 'utf8');
const CASES = [
  ['/photos/cat.jpg/w=640,q=75,f=auto-avif', 200, 'Accept'],
  ['/photos/cat.jpg/w=640,q=75,f=auto-orig', 200, 'Accept'],
  ['/photos/cat.jpg/w=640,q=75,f=webp', 200, undefined],
  ['/photos/f=auto-x/q=75,f=jpeg', 200, undefined],
  ['/photos/cat.jpg/w=640,q=75,f=auto-webp', 404, undefined],
  ['/photos/cat.jpg/w=640,q=75,f=auto-webp', 304, 'Accept'],
  // The info document (issue 14) never depends on Accept.
  ['/photos/cat.jpg/f=info', 200, undefined],
  ['/photos/cat.jpg/f=info', 304, undefined],
  // q=auto levels (issue 15): only the format decides, not the auto- of the quality.
  ['/photos/cat.jpg/w=640,q=auto-good,f=webp', 200, undefined],
  ['/photos/cat.jpg/w=640,q=auto-eco,f=auto-avif', 200, 'Accept'],
];

function event(uri, status) {
  return {
    version: '1.0',
    context: { eventType: 'viewer-response' },
    request: { method: 'GET', uri, querystring: {}, headers: {}, cookies: {} },
    response: { statusCode: status, statusDescription: 'OK', headers: {}, cookies: {} },
  };
}

test('adds Vary: Accept exactly for negotiated 200s (node, bare realm)', () => {
  const context = vm.createContext({});
  vm.runInContext(SOURCE, context);
  for (const [uri, status, vary] of CASES) {
    const out = context.handler(event(uri, status));
    assert.equal(out.headers.vary?.value, vary, uri);
  }
});

test('same cases under njs', () => {
  const script = `${SOURCE}
var CASES = ${JSON.stringify(CASES)};
var bad = 0;
for (var i = 0; i < CASES.length; i++) {
  var c = CASES[i];
  var out = handler({ request: { uri: c[0], headers: {} }, response: { statusCode: c[1], headers: {} } });
  var got = out.headers.vary ? out.headers.vary.value : null;
  if (got !== c[2]) { bad++; console.log('FAIL ' + c[0]); }
}
console.log('njs viewer-response: ' + bad + ' failed');
`;
  const dir = join(ROOT, 'build', 'cloudfront');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'njs-viewer-response.js');
  writeFileSync(file, script); // JSON.stringify writes the undefined expectations as null
  const run = spawnSync('njs', [file], { encoding: 'utf8', timeout: 30_000 });
  if (run.error) assert.fail(`cannot run njs (${run.error.code}): install the Debian package njs`);
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /njs viewer-response: 0 failed/);
});
