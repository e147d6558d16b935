// The CloudFront Function exactly as Terraform uploads it (the committed, minified
// artefact cloudfront/viewer-request.min.js), run in a bare JavaScript realm (no require,
// process, console; the runtime's cloudfront and crypto modules supplied by
// function-realm.mjs) against every parity vector. build.test.mjs checks that the artefact
// is what the build makes from the template and the policy.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';

import {
  BUDGET_BYTES, MAX_FUNCTION_BYTES, POLICY_PATH, ROOT, TEMPLATE_PATH, minifyFunction, readArtefact,
  renderTemplate,
} from '../build.mjs';
import { loadFunction } from '../function-realm.mjs';

const code = readArtefact();
const { vectors, policies } = JSON.parse(readFileSync(join(ROOT, 'tests', 'fixtures', 'vectors.json'), 'utf8'));
const realm = loadFunction(code);

test(`the uploaded artefact is at most ${BUDGET_BYTES} bytes (limit ${MAX_FUNCTION_BYTES})`, () => {
  const bytes = Buffer.byteLength(code, 'utf8');
  assert.ok(bytes <= BUDGET_BYTES, `${bytes} bytes > ${BUDGET_BYTES}`);
  assert.ok(BUDGET_BYTES < MAX_FUNCTION_BYTES);
});

test('the artefact is ASCII and defines the handler CloudFront calls', async () => {
  assert.match(code, /^[\x00-\x7f]*$/);
  assert.match(code, /\bfunction handler\(/);
});

test('only the runtime modules cloudfront and crypto are imported, and no host objects used', async () => {
  assert.deepEqual([...realm.importedModules].sort(), ['cloudfront', 'crypto']);
  assert.doesNotMatch(code, /\brequire\s*\(|\bexport\b|\bprocess\.|\bconsole\./m);
  assert.match(code, /\basync function handler\(/);
  assert.equal(typeof realm.handler, 'function');
  assert.equal(typeof realm.require, 'undefined');
});

test('at least 80 vectors, and most also run through the querystring-object fallback', async () => {
  assert.ok(vectors.length >= 80);
  const fallback = vectors.filter((v) => realm.fallbackApplies(v)).length;
  assert.ok(fallback >= vectors.length - 5, `${fallback} of ${vectors.length}`);
});

for (const v of vectors) {
  test(`vector: ${v.name}`, async () => {
    assert.equal(await realm.checkVector(realm.handler, v, true), null);
    if (realm.fallbackApplies(v)) {
      assert.equal(await realm.checkVector(realm.handler, v, false), null, 'querystring-object fallback');
    }
  });
}

// The vectors of a patched policy (ties, heights off) against the function built, and
// minified, with that policy: what the build would upload for such a site.
for (const group of policies) {
  const policy = { ...JSON.parse(readFileSync(POLICY_PATH, 'utf8')), ...group.patch };
  const built = await minifyFunction(renderTemplate(readFileSync(TEMPLATE_PATH, 'utf8'), JSON.stringify(policy)));
  const patched = loadFunction(built, group.kvs || {});
  for (const v of group.vectors) {
    test(`${group.name}: ${v.name}`, async () => {
      assert.equal(await patched.checkVector(patched.handler, v, true), null);
      if (patched.fallbackApplies(v)) assert.equal(await patched.checkVector(patched.handler, v, false), null);
    });
  }
}

test('the whole-file runner (what njs runs) agrees', async () => {
  const summary = await realm.runVectors(realm.handler, vectors);
  assert.deepEqual([...summary.failures], []);
  assert.equal(summary.vectors, vectors.length);
});

function event(uri, query, headers) {
  const e = realm.vectorEvent({ path: uri, query, accept: null }, true);
  Object.assign(e.request.headers, headers);
  return e;
}

test('several Accept headers (multiValue) are read as one list', async () => {
  const result = await realm.handler(event('/a.jpg', 'w=640', {
    accept: { value: 'text/html', multiValue: [{ value: 'text/html' }, { value: 'image/webp' }] },
  }));
  assert.equal(result.uri, '/a.jpg/w=640,q=75,f=auto-webp');
});

test('a 400 is a complete CloudFront response object', async () => {
  const result = await realm.handler(event('/a.jpg', 'q=0', {}));
  assert.deepEqual(JSON.parse(JSON.stringify(result)), {
    statusCode: 400,
    statusDescription: 'Bad Request',
    headers: {
      'content-type': { value: 'text/plain; charset=utf-8' },
      'cache-control': { value: 'public, max-age=60' },
    },
    body: { encoding: 'text', data: 'invalid q: expected a whole number from 1 to 100' },
  });
});

test('other headers, cookies and method pass through untouched', async () => {
  const e = event('/a.jpg', 'w=1', { 'x-custom': { value: 'kept' } });
  e.request.cookies = { session: { value: 's' } };
  const result = await realm.handler(e);
  assert.equal(result.headers['x-custom'].value, 'kept');
  assert.equal(result.cookies.session.value, 's');
  assert.equal(result.method, 'GET');
});

// Linear-time checks only: a backtracking regex would hang here (the timeout is a hang
// guard, not a benchmark).
test('pathological inputs are answered, not backtracked on', { timeout: 10_000 }, async () => {
  const cases = [
    [`/a/${'w=1,'.repeat(2000)}W`, null, '', 'escaped key longer than 960 bytes'],
    [`/a/${'q=75,'.repeat(3000)}f=webp!`, null, '', 'escaped key longer than 960 bytes'],
    [`/a/${'w=1,'.repeat(3000)}q=75,f=webp`, null, '', 'not a canonical variant'],
    ['/a.jpg', 'w=1&'.repeat(3000), `${'image/avif;'.repeat(2000)}${','.repeat(5000)}`, 'repeated parameter: w'],
    [`/${'%'.repeat(5000)}`, null, '', 'invalid percent-encoding in path'],
  ];
  for (const [path, query, accept, message] of cases) {
    const result = await realm.handler(event(path, query, { accept: { value: accept } }));
    assert.equal(result.body && result.body.data, message);
  }
  const negotiated = await realm.handler(event('/a.jpg', null, {
    accept: { value: `${'image/webp;q=0.5;'.repeat(3000)},${'image/*,'.repeat(3000)}image/avif;q=0.1` },
  }));
  assert.equal(negotiated.uri, '/a.jpg/q=75,f=auto-webp');
});
