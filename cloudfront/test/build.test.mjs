// The build step (build.mjs): the committed artefact Terraform uploads is exactly what the
// template, the policy and the pinned terser make now (drift test), the template stays
// renderable by Terraform's templatefile(), and minifying changes no answer.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';

import {
  ARTEFACT_PATH, POLICY_PATH, ROOT, TEMPLATE_PATH, buildViewerRequest, minifyFunction,
  readArtefact, renderTemplate, renderViewerRequest,
} from '../build.mjs';
import { loadFunction } from '../function-realm.mjs';

const policyText = readFileSync(POLICY_PATH, 'utf8');
const { vectors } = JSON.parse(readFileSync(join(ROOT, 'tests', 'fixtures', 'vectors.json'), 'utf8'));

const realmOf = (code) => loadFunction(code);

test('the committed artefact is what the build makes (run node cloudfront/build.mjs)', async () => {
  const built = await buildViewerRequest();
  assert.equal(readArtefact(), built, `${ARTEFACT_PATH} is stale: rebuild and commit it`);
});

test('the build is deterministic', async () => {
  assert.equal(await buildViewerRequest(), await buildViewerRequest());
});

test('a policy change shows up in the artefact (so the drift test would catch it)', async () => {
  const changed = policyText.replace('"max_key_bytes": 960', '"max_key_bytes": 959');
  assert.notEqual(changed, policyText);
  const code = renderTemplate(readFileSync(TEMPLATE_PATH, 'utf8'), changed);
  assert.notEqual(await minifyFunction(code), readArtefact());
});

test('q=auto levels come from the policy (quality.auto, quality.auto_default) when it names them', async () => {
  const policy = JSON.parse(policyText);
  policy.quality = { ...policy.quality, auto: ['max', 'min'], auto_default: 'min' };
  const realm = realmOf(renderTemplate(readFileSync(TEMPLATE_PATH, 'utf8'), JSON.stringify(policy)));
  const answer = async (query, path = '/a.jpg') => {
    const out = await realm.handler(realm.vectorEvent({ path, query, accept: null }, true));
    return out.uri || out.body.data;
  };
  assert.equal(await answer('q=auto'), '/a.jpg/q=auto-min,f=auto-orig');
  assert.equal(await answer('q=auto:MAX'), '/a.jpg/q=auto-max,f=auto-orig');
  assert.equal(await answer('q=auto:good'), 'invalid q: expected one of auto, auto:max, auto:min');
  assert.equal(await answer(null, '/a.jpg/q=auto-max,f=webp'), '/a.jpg/q=auto-max,f=webp');
  assert.equal(await answer(null, '/a.jpg/q=auto-good,f=webp'), 'not a canonical variant');
});

test('template has exactly one ${policy_json} and no other Terraform template sequence', async () => {
  const template = readFileSync(TEMPLATE_PATH, 'utf8');
  assert.equal(template.split('${').length - 1, 1);
  assert.ok(template.includes('${policy_json}'));
  assert.ok(!template.includes('%{'));
  assert.throws(() => renderTemplate(template + '\n// ${other}', policyText), /exactly one/);
  assert.throws(() => renderTemplate(template + '\n// %{ if x }', policyText), /%\{/);
  assert.throws(() => renderTemplate(template, '{ not json'), SyntaxError);
});

test('the rendered source carries the policy file verbatim', async () => {
  const code = renderViewerRequest();
  assert.ok(code.includes(policyText));
  const realm = realmOf(code);
  assert.deepEqual(JSON.parse(JSON.stringify(realm.POLICY)), JSON.parse(policyText));
});

test('minified and readable source give the same answer to every vector', async () => {
  const readable = realmOf(renderViewerRequest());
  const minified = realmOf(readArtefact());
  for (const v of vectors) {
    const a = JSON.stringify(await readable.handler(readable.vectorEvent(v, true)));
    const b = JSON.stringify(await minified.handler(minified.vectorEvent(v, true)));
    assert.equal(b, a, v.name);
  }
});
