// The signer ('image-origin/sign'): the shared vectors of the Python reference
// (tests/fixtures/signing_vectors.json) reproduced exactly, the edge's parity vectors read
// to the same canonical text, every URL it signs accepted by the real CloudFront Function
// with signing required (and refused once tampered with), its refusals, and that the main
// entry, which browsers load, never reaches node:crypto.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';

import { POLICY_PATH, ROOT, TEMPLATE_PATH, minifyFunction, renderTemplate } from '../../cloudfront/build.mjs';
import { loadFunction } from '../../cloudfront/function-realm.mjs';
import { ImageUrlError, imageUrl } from '../lib/index.mjs';
import { createSigner, newSecret, signedText, signUrl } from '../lib/sign.mjs';

const LIB = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'lib');
const fixture = (name) => JSON.parse(readFileSync(join(ROOT, 'tests', 'fixtures', name), 'utf8'));
const { keys, vectors } = fixture('signing_vectors.json');
const parity = fixture('vectors.json');
const shipped = JSON.parse(readFileSync(POLICY_PATH, 'utf8'));
const CHROME = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';
const k1 = { keyId: 'k1', secret: keys.k1 };

/** The `s` value of a signed URL. */
const sOf = (url) => new URL(url, 'https://x.invalid').searchParams.get('s');

/** An ImageUrlError from the signer for url, with the edge's message. */
const refusal = (url, message) => (e) =>
  e instanceof ImageUrlError && e.message === `image-origin/sign: cannot sign ${url}: ${message}`;

test('every shared vector: the signed text and the signed URL of the Python reference', () => {
  assert.ok(vectors.length >= 12);
  for (const v of vectors) {
    const key = { keyId: v.key_id, secret: keys[v.key_id] };
    assert.equal(signedText(v.url), v.signed_text, v.url);
    assert.equal(signUrl(v.url, key), v.signed_url, v.url);
    const signer = createSigner(key);
    assert.equal(signer(v.url), v.signed_url, v.url);
    assert.equal(signer.signedText(v.url), v.signed_text, v.url);
  }
});

test("the edge's parity vectors: the same canonical text, the same refusals, the signatures it accepts", () => {
  const groups = [{ name: 'shipped', patch: {}, vectors: parity.vectors }, ...parity.policies];
  let checked = 0;
  for (const group of groups) {
    const policy = { ...shipped, ...group.patch };
    for (const v of group.vectors) {
      const url = v.query === null ? v.path : `${v.path}?${v.query}`;
      const signs = (v.query ?? '').split('&').some((p) => p.split('=', 1)[0] === 's');
      const label = `${group.name}: ${v.name}`;
      if (v.expect.uri !== undefined) {
        // The edge's URI with the negotiated format it picked written back as f=auto.
        assert.equal(signedText(url, { policy }), v.expect.uri.replace(/,f=auto-[a-z0-9]+$/, ',f=auto'), label);
        if (v.expect.signature !== undefined) {
          const keyId = v.expect.signature.split('.')[0];
          const secret = group.kvs[`signing-key-${keyId}`];
          assert.equal(sOf(signUrl(url, { keyId, secret, policy })), v.expect.signature, label);
        }
        checked++;
      } else if (v.expect.status === 400 && !signs) {
        // (An `s` in the query is the edge's to judge; the signer replaces it.)
        assert.throws(() => signedText(url, { policy }), refusal(url, v.expect.message), label);
        checked++;
      }
    }
  }
  assert.ok(checked >= 300, `${checked} vectors checked`);
});

// The function Terraform would upload for a site with signing required, its store holding k1.
const requiredPolicy = { ...shipped, signing: { mode: 'required' } };
const edge = loadFunction(
  await minifyFunction(renderTemplate(readFileSync(TEMPLATE_PATH, 'utf8'), JSON.stringify(requiredPolicy))),
  { 'signing-key-k1': keys.k1 },
);

/** What the edge answers for a (signed) URL: { uri } or { status, message }. */
async function atEdge(url, accept = CHROME) {
  const { pathname, search } = new URL(url, 'https://cdn.example.com');
  const result = await edge.handler(edge.vectorEvent({ path: pathname, query: search ? search.slice(1) : null, accept }, true));
  return result.statusCode === undefined ? { uri: result.uri } : { status: result.statusCode, message: result.body.data };
}

test('every URL the signer makes passes the edge with signing required; tampered, it is a 403', async () => {
  const signer = createSigner({ ...k1, policy: requiredPolicy });
  const urls = signer.imageUrls({ baseUrl: 'https://cdn.example.com' });
  const signed = [];
  for (const src of ['/photos/cat.jpg', '/photos/my cat+1 (2).jpg', 'https://cdn.example.com/写真/猫.png', '/a/b~c.jpg']) {
    for (const options of [{}, { width: 600 }, { width: 300, height: 200, fit: 'contain', quality: 60 }, { width: 640, quality: 'auto:eco' }, { width: 1200, format: 'jpg' }]) {
      signed.push(urls.imageUrl(src, options));
    }
    signed.push(...urls.srcSet(src, { widths: [384, 640, 1080] }).split(', ').map((c) => c.split(' ')[0]));
    signed.push(urls.infoUrl(src));
    signed.push(signer(imageUrl(src, { width: 100 })), signer(`${imageUrl(src, { width: 100 })}&utm_source=mail#top`));
  }
  for (const url of signed) {
    const answer = await atEdge(url);
    assert.equal(answer.status, undefined, `${url}: ${answer.message}`);
    assert.equal(`${answer.uri.replace(/,f=auto-[a-z0-9]+$/, ',f=auto')}`, signer.signedText(url), url);
    // Another Accept, another negotiated format: the same signature still holds.
    assert.equal((await atEdge(url, null)).status, undefined, url);
  }
  // Another variant under the first one's signature: w, q, format, the key.
  const url = urls.imageUrl('/photos/cat.jpg', { width: 640 });
  const tampered = [
    url.replace('w=640', 'w=1080'),
    url.replace('w=640', 'w=640&q=90'),
    url.replace('w=640', 'w=640&format=png'),
    url.replace('cat.jpg', 'dog.jpg'),
    url.replace('photos/', ''),
  ];
  for (const forged of tampered) {
    assert.notEqual(sOf(signer(forged)), sOf(url), forged);
    assert.deepEqual(await atEdge(forged), { status: 403, message: 'bad signature' }, forged);
  }
  // What does not change the variant does not change the signature.
  assert.equal(sOf(signer('/photos/cat.jpg?w=600&utm_source=mail')), sOf(signer('/photos/cat.jpg?w=640')));
  assert.deepEqual(await atEdge('/photos/cat.jpg?w=640'), { status: 403, message: 'missing signature' });
});

test('a URL the edge would refuse throws with its message instead of being signed', () => {
  const cases = [
    ['/photos/cat.jpg?w=0', 'invalid w: expected a whole number from 1'],
    ['/photos/cat.jpg?w=640&w=750', 'repeated parameter: w'],
    ['/photos/cat.jpg?q=101', 'invalid q: expected a whole number from 1 to 100'],
    ['/photos/cat.jpg?q=auto:max', 'invalid q: expected one of auto, auto:high, auto:good, auto:eco'],
    ['/photos/cat.jpg?format=gif', 'invalid format: expected one of avif, webp, jpeg, png, auto'],
    ['/photos/cat.jpg?w=1&h=1&fit=fill', 'invalid fit: expected one of cover, contain, inside'],
    ['/photos/cat.jpg?info=1', 'invalid info: takes no value'],
    ['/photos/cat.jpg/w=600,q=75,f=webp', 'not a canonical variant'],
    ['/photos/cat.jpg/w=640,q=75,f=auto-avif,q=75', 'not a canonical variant'],
    ['/photos/../cat.jpg?w=640', 'dot segment in key'],
    ['/photos//cat.jpg', 'empty path segment in key'],
    ['/100%.jpg', 'invalid percent-encoding in path'],
    ['/a~zz/w=640,q=75,f=webp', 'invalid ~ escape in path'],
    ['photos/cat.jpg?w=640', 'invalid path'],
    ['https://cdn.example.com', 'invalid path'],
    ['/a\uD800.jpg', 'not a well-formed string (lone surrogate)'],
  ];
  for (const [url, message] of cases) {
    assert.throws(() => signUrl(url, k1), refusal(url, message), url);
    assert.throws(() => signedText(url), refusal(url, message), url);
  }
  assert.throws(() => signUrl(undefined, k1), { name: 'ImageUrlError', message: /the URL must be a string, got undefined/ });
  // Under a custom policy its own rules: a width-only site refuses h.
  const widthOnly = { ...shipped, heights: [] };
  assert.throws(() => signUrl('/a.jpg?w=1&h=1', { ...k1, policy: widthOnly }), refusal('/a.jpg?w=1&h=1', 'invalid h: this policy has no heights'));
});

test('a bad key id or a short secret is refused, and the secret never appears in the message', () => {
  const secret = keys.k1;
  for (const keyId of ['', 'a'.repeat(33), 'k.1', 'k 1', 'ключ', undefined, 7]) {
    assert.throws(() => createSigner({ keyId, secret }), { name: 'ImageUrlError', message: /key id .* must be 1-32 characters of A-Z a-z 0-9 _ -/ }, String(keyId));
    assert.throws(() => signUrl('/a.jpg', { keyId, secret }), ImageUrlError, String(keyId));
  }
  for (const short of ['', 'x'.repeat(31), undefined, 12345]) {
    for (const call of [() => createSigner({ keyId: 'k1', secret: short }), () => signUrl('/a.jpg', { keyId: 'k1', secret: short })]) {
      assert.throws(call, (e) => e instanceof ImageUrlError && /secret of key k1 must be a string of at least 32 characters/.test(e.message) && !(short && e.message.includes(String(short))));
    }
  }
  assert.throws(() => signUrl('/a.jpg'), ImageUrlError);
  const ok = createSigner({ keyId: 'a'.repeat(32), secret: 'x'.repeat(32) });
  assert.match(ok('/a.jpg'), /^\/a\.jpg\?s=a{32}\.[A-Za-z0-9_-]{43}$/);
  const signer = createSigner(k1);
  assert.equal(signer.keyId, 'k1');
  assert.ok(!JSON.stringify(Object.entries(signer)).includes(secret), 'the signer exposes its secret');
  assert.ok(Object.isFrozen(signer));
});

test('newSecret: 256 random bits, base64url, accepted as a secret', () => {
  const a = newSecret();
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a, newSecret());
  assert.match(signUrl('/a.jpg', { keyId: 'k1', secret: a }), /s=k1\./);
});

test('signer.imageUrls: the builder with every URL signed, srcSet candidates one by one', async () => {
  const signer = createSigner(k1);
  const urls = signer.imageUrls({ baseUrl: 'https://cdn.example.com' });
  // vectors[0]: /photos/cat.jpg?w=640&q=75, the builder leaving out the default q.
  assert.equal(urls.imageUrl('/photos/cat.jpg', { width: 600, quality: 70 }), `https://cdn.example.com/photos/cat.jpg?w=640&s=${sOf(vectors[0].signed_url)}`);
  const set = urls.srcSet('/photos/cat.jpg', { widths: [640, 1080] }).split(', ');
  assert.deepEqual(set.map((c) => c.split(' ')[1]), ['640w', '1080w']);
  for (const c of set) {
    const [u, w] = c.split(' ');
    assert.equal(u, signer(`https://cdn.example.com/photos/cat.jpg?w=${w.slice(0, -1)}`));
  }
  assert.equal(urls.infoUrl('/photos/cat.jpg'), `https://cdn.example.com${vectors.find((v) => v.url.endsWith('?info')).signed_url}`);
  assert.deepEqual([...urls.widths], [...shipped.widths].sort((a, b) => a - b));
  // getImageInfo fetches the signed info URL.
  const asked = [];
  const fetch = async (url) => {
    asked.push(url);
    return { status: 404, statusText: 'Not Found', text: async () => '404 no such original' };
  };
  await assert.rejects(urls.getImageInfo('/photos/cat.jpg', { fetch }), { name: 'ImageInfoError', status: 404 });
  assert.deepEqual(asked, [urls.infoUrl('/photos/cat.jpg')]);
  await assert.rejects(urls.getImageInfo('/a//b.jpg', { fetch }), ImageUrlError);
  assert.throws(() => signer.imageUrls({}), { name: 'ImageUrlError', message: /baseUrl is missing/ });
});

test('the main entry and the browser loader never reach node:crypto or the signer', () => {
  /** Every module a module statically or dynamically imports, transitively (relative ones read). */
  function graph(file, seen = new Map()) {
    if (seen.has(file)) return seen;
    const text = readFileSync(join(LIB, file), 'utf8');
    const specifiers = [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]/gm)].map((m) => m[1] ?? m[2]);
    seen.set(file, specifiers);
    for (const s of specifiers) if (s.startsWith('./')) graph(s.slice(2), seen);
    return seen;
  }
  for (const entry of ['index.mjs', 'next-loader.mjs', 'policy.mjs']) {
    const reached = graph(entry);
    const all = [...reached.values()].flat();
    assert.deepEqual(all.filter((s) => !s.startsWith('./')), [], `${entry} imports outside the package`);
    assert.ok(!reached.has('sign.mjs'), `${entry} reaches sign.mjs`);
    assert.ok(!reached.has('canonical.mjs'), `${entry} reaches canonical.mjs`);
  }
  assert.ok(graph('sign.mjs').get('sign.mjs').includes('node:crypto'), 'the graph reader sees imports');
  // And by loading: what a fresh process importing the module loads of crypto
  // (process.moduleLoadList names every builtin a process loaded); the signer as control.
  const cryptoLoadedBy = (file) => {
    const probe = `const before = new Set(process.moduleLoadList); await import(${JSON.stringify(join(LIB, file))}); ` +
      'console.log(process.moduleLoadList.filter((m) => !before.has(m) && /crypto/.test(m)).length);';
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    return Number(run.stdout.trim());
  };
  assert.equal(cryptoLoadedBy('index.mjs'), 0);
  assert.equal(cryptoLoadedBy('next-loader.mjs'), 0);
  assert.ok(cryptoLoadedBy('sign.mjs') > 0);
});
