// URL builder: shapes of the URLs, configuration errors, and that every URL it builds is
// accepted by the real CloudFront Function (cloudfront/) and names the variant asked for.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';

import { ROOT, TEMPLATE_PATH, buildViewerRequest, minifyFunction, renderTemplate } from '../../cloudfront/build.mjs';
import { loadFunction } from '../../cloudfront/function-realm.mjs';
import * as mod from '../lib/index.mjs';

const { createImageUrls, imageUrl, ImageUrlError, infoUrl, srcSet } = mod;
const policyFile = JSON.parse(readFileSync(join(ROOT, 'origin_handler', 'policy.json'), 'utf8'));
const CHROME = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';

// The deployed function (cloudfront/build.mjs: the template with the policy injected), its
// runtime modules supplied (function-realm.mjs).
const realm = loadFunction(await buildViewerRequest());

/** What the edge makes of a URL the builder produced. */
async function atEdge(url, accept = CHROME, edge = realm) {
  const { pathname, search } = new URL(url, 'https://cdn.example.com');
  const query = search ? search.slice(1) : null;
  const result = await edge.handler(edge.vectorEvent({ path: pathname, query, accept }, true));
  assert.equal(result.statusCode, undefined, `${url}: ${JSON.stringify(result.body)}`);
  return result.uri;
}

/** The edge's 400 message for a URL (what a builder refusal must match). */
async function edgeRefusal(query, edge) {
  const result = await edge.handler(edge.vectorEvent({ path: '/a.jpg', query, accept: null }, true));
  return result.body && result.body.data;
}

/** The nearest allowed quality, halfway going up (the policy's rule, written again). */
function nearest(value, list) {
  return [...list].sort((a, b) => b - a).reduce((best, c) => (Math.abs(c - value) < Math.abs(best - value) ? c : best));
}

test('reads the shared policy file', () => {
  assert.deepEqual(mod.policy, policyFile);
  assert.deepEqual([...mod.widths], [...policyFile.widths].sort((a, b) => a - b));
});

test('imageUrl snaps and normalizes', () => {
  assert.equal(imageUrl('/photos/cat.jpg'), '/photos/cat.jpg');
  assert.equal(imageUrl('/photos/cat.jpg', { width: 600 }), '/photos/cat.jpg?w=640');
  assert.equal(imageUrl('/photos/cat.jpg', { width: 600.4 }), '/photos/cat.jpg?w=640');
  assert.equal(imageUrl('/photos/cat.jpg', { width: 1 }), '/photos/cat.jpg?w=16');
  assert.equal(imageUrl('/photos/cat.jpg', { width: 10_000 }), '/photos/cat.jpg?w=3840');
  assert.equal(imageUrl('/photos/cat.jpg', { quality: 75 }), '/photos/cat.jpg');
  assert.equal(imageUrl('/photos/cat.jpg', { quality: 76 }), '/photos/cat.jpg'); // nearest: 75, the default
  assert.equal(imageUrl('/photos/cat.jpg', { quality: 62 }), '/photos/cat.jpg?q=50');
  assert.equal(imageUrl('/photos/cat.jpg', { quality: 62.5 }), '/photos/cat.jpg'); // halfway 50–75: up
  assert.equal(imageUrl('/photos/cat.jpg', { quality: 83 }), '/photos/cat.jpg?q=90');
  assert.equal(imageUrl('/photos/cat.jpg', { quality: 100 }), '/photos/cat.jpg?q=90');
  assert.equal(imageUrl('/photos/cat.jpg', { quality: 1 }), '/photos/cat.jpg?q=50');
  assert.equal(imageUrl('/photos/cat.jpg', { quality: 'auto' }), '/photos/cat.jpg?q=auto');
  assert.equal(imageUrl('/photos/cat.jpg', { quality: 'auto:good' }), '/photos/cat.jpg?q=auto'); // the default level
  assert.equal(imageUrl('/photos/cat.jpg', { width: 600, quality: 'auto:eco' }), '/photos/cat.jpg?w=640&q=auto:eco');
  assert.equal(imageUrl('/photos/cat.jpg', { quality: 'AUTO:High' }), '/photos/cat.jpg?q=auto:high');
  assert.equal(imageUrl('/photos/cat.jpg', { format: 'auto' }), '/photos/cat.jpg');
  assert.equal(imageUrl('/photos/cat.jpg', { format: 'JPG' }), '/photos/cat.jpg?format=jpeg');
  assert.equal(
    imageUrl('/photos/cat.jpg', { width: 300, height: 200, fit: 'contain', quality: 50, format: 'webp' }),
    '/photos/cat.jpg?w=384&h=256&fit=contain&q=50&format=webp',
  );
  assert.equal(imageUrl('/photos/cat.jpg', { width: 300, height: 200, fit: 'cover' }), '/photos/cat.jpg?w=384&h=256');
  assert.equal(imageUrl('/photos/cat.jpg', { width: 300, fit: 'contain' }), '/photos/cat.jpg?w=384');
});

test('keys are encoded exactly like the canonical URI', () => {
  assert.equal(imageUrl('/photos/my cat.jpg'), '/photos/my%20cat.jpg');
  assert.equal(imageUrl('/photos/my%20cat.jpg'), '/photos/my%20cat.jpg');
  assert.equal(imageUrl('/photos/a+b.jpg'), '/photos/a%2Bb.jpg');
  assert.equal(imageUrl('/photos/café.jpg'), '/photos/caf%C3%A9.jpg');
  assert.equal(imageUrl('/photos/caf%c3%a9.jpg'), '/photos/caf%C3%A9.jpg');
  assert.equal(imageUrl("/a(1)!'*.jpg"), '/a%281%29%21%27%2A.jpg');
  assert.equal(imageUrl('photos/cat.jpg'), '/photos/cat.jpg');
  assert.equal(imageUrl('a:b.jpg'), '/a%3Ab.jpg');
  assert.equal(imageUrl('/photos/cat.jpg?v=3#top', { width: 64 }), '/photos/cat.jpg?w=64');
});

test('absolute srcs keep their origin; baseUrl prefixes path srcs', () => {
  assert.equal(imageUrl('https://cdn.example.com/a b.jpg', { width: 90 }), 'https://cdn.example.com/a%20b.jpg?w=96');
  assert.equal(imageUrl('//cdn.example.com/a.jpg'), 'https://cdn.example.com/a.jpg');
  const cdn = createImageUrls({ baseUrl: 'https://cdn.example.com' });
  assert.equal(cdn.imageUrl('/photos/cat.jpg', { width: 600 }), 'https://cdn.example.com/photos/cat.jpg?w=640');
  assert.equal(cdn.imageUrl('https://other.example/x.jpg'), 'https://other.example/x.jpg');
  const prefixed = createImageUrls({ baseUrl: 'https://cdn.example.com/img/' });
  assert.equal(prefixed.imageUrl('/photos/cat.jpg'), 'https://cdn.example.com/img/photos/cat.jpg');
  assert.throws(() => createImageUrls({ baseUrl: 'https://cdn.example.com/?x=1' }), ImageUrlError);
});

test('what the edge would reject throws with the edge message', () => {
  const cases = [
    [['/a//b.jpg'], 'empty path segment in key'],
    [['/100%.jpg'], 'invalid percent-encoding in path'],
    [['/a%00.jpg'], 'control character in key'],
    [[''], 'missing image key'],
    [['/'], 'missing image key'],
    [[`/${'a'.repeat(961)}`], 'escaped key longer than 960 bytes'],
    [[`/${'ü'.repeat(161)}`], 'escaped key longer than 960 bytes'],
    [[`/${'~'.repeat(321)}`], 'escaped key longer than 960 bytes'],
    [['/a.jpg', { width: 0 }], 'invalid w: expected a whole number from 1'],
    [['/a.jpg', { height: -1 }], 'invalid h: expected a whole number from 1'],
    [['/a.jpg', { width: Number.NaN }], 'invalid w: expected a whole number from 1'],
    [['/a.jpg', { quality: 0 }], 'invalid q: expected a whole number from 1 to 100'],
    [['/a.jpg', { quality: 101 }], 'invalid q: expected a whole number from 1 to 100'],
    [['/a.jpg', { quality: '75' }], 'invalid q: expected a whole number from 1 to 100'],
    [['/a.jpg', { quality: 'auto:max' }], 'invalid q: expected one of auto, auto:high, auto:good, auto:eco'],
    [['/a.jpg', { quality: 'auto-eco' }], 'invalid q: expected one of auto, auto:high, auto:good, auto:eco'],
    [['/a.jpg', { quality: 'auto:' }], 'invalid q: expected one of auto, auto:high, auto:good, auto:eco'],
    [['/a.jpg', { format: 'gif' }], 'invalid format: expected one of avif, webp, jpeg, png, auto'],
    [['/a.jpg', { width: 1, height: 1, fit: 'fill' }], 'invalid fit: expected one of cover, contain, inside'],
  ];
  for (const [args, message] of cases) {
    assert.throws(() => imageUrl(...args), (e) => e instanceof ImageUrlError && e.message === message, message);
  }
});

test('srcSet uses policy widths only, snapped and deduplicated', () => {
  assert.equal(
    srcSet('/p/c.jpg', { widths: [1000, 300, 600, 640], quality: 60 }),
    '/p/c.jpg?w=384&q=50 384w, /p/c.jpg?w=640&q=50 640w, /p/c.jpg?w=1080&q=50 1080w',
  );
  assert.equal(srcSet('/p/c.jpg', { widths: [600], quality: 'auto:high' }), '/p/c.jpg?w=640&q=auto:high 640w');
  const all = srcSet('/p/c.jpg').split(', ');
  assert.equal(all.length, policyFile.widths.length);
  for (const candidate of all) {
    const [url, descriptor] = candidate.split(' ');
    const w = Number(new URL(url, 'https://x').searchParams.get('w'));
    assert.ok(policyFile.widths.includes(w));
    assert.equal(descriptor, `${w}w`);
  }
  assert.throws(() => srcSet('/p/c.jpg', { widths: [] }), ImageUrlError);
});

test('a missing or unusable base URL is an error, not root-relative URLs', () => {
  for (const config of [undefined, {}, { baseUrl: undefined }, { baseUrl: null }]) {
    assert.throws(() => createImageUrls(config), { name: 'ImageUrlError', message: /baseUrl is missing: give the CDN origin/ });
  }
  for (const baseUrl of ['cdn.example.com', '/images', 'ftp://cdn.example.com']) {
    assert.throws(() => createImageUrls({ baseUrl }), { name: 'ImageUrlError', message: /baseUrl must be an absolute http\(s\) URL/ }, baseUrl);
  }
  assert.equal(createImageUrls({ baseUrl: '' }).imageUrl('/a.jpg', { width: 640 }), '/a.jpg?w=640');
});

test('data: and blob: sources are refused, not turned into keys', () => {
  const cdn = createImageUrls({ baseUrl: 'https://cdn.example.com' });
  for (const src of ['data:image/png;base64,iVBORw0KGgo=', 'DATA:image/gif;base64,R0lGOD', 'blob:https://site.example/1c9d']) {
    assert.throws(() => cdn.imageUrl(src, { width: 640 }), { name: 'ImageUrlError', message: /data: and blob: URLs are not images on the origin/ }, src);
    assert.throws(() => cdn.srcSet(src), ImageUrlError, src);
  }
});

test('every URL the builder makes is accepted at the edge as the variant asked for', async () => {
  const srcs = ['/photos/cat.jpg', '/photos/my cat+1 (2).jpg', 'https://cdn.example.com/写真/猫.png'];
  const sizes = [undefined, 1, 100, 640, 641, 5000];
  const byUrl = new Map();
  for (const src of srcs) {
    for (const width of sizes) {
      for (const height of [undefined, 200]) {
        for (const quality of [undefined, 1, 62, 63, 75, 76, 83, 100, 'auto', 'auto:good', 'auto:high', 'auto:eco']) {
          for (const format of [undefined, 'auto', 'jpg', 'webp', 'png']) {
            for (const fit of [undefined, 'cover', 'inside']) {
              const url = imageUrl(src, { width, height, quality, format, fit });
              const uri = await atEdge(url);
              const snap = (v, list) => list.find((x) => x >= v) ?? list[list.length - 1];
              const w = width && snap(width, policyFile.widths);
              const h = height && snap(height, policyFile.heights);
              const q = typeof quality === 'string'
                ? `auto-${quality === 'auto' ? 'good' : quality.slice(5)}`
                : quality ? nearest(quality, policyFile.qualities) : 75;
              const f = format === 'jpg' ? 'jpeg' : format && format !== 'auto' ? format : 'auto-avif';
              const ops = [w && `w=${w}`, h && `h=${h}`, w && h && `fit=${fit ?? 'cover'}`, `q=${q}`, `f=${f}`];
              assert.ok(uri.endsWith(`/${ops.filter(Boolean).join(',')}`), `${url} -> ${uri}`);
              if (byUrl.has(url)) assert.equal(byUrl.get(url), uri);
              byUrl.set(url, uri);
            }
          }
        }
      }
    }
  }
  // One URL per variant: distinct URLs never map to the same cache key.
  assert.equal(new Set(byUrl.values()).size, byUrl.size);
});

test('every info URL the builder makes is the info document of its original at the edge', async () => {
  for (const src of ['/photos/cat.jpg', '/photos/my cat+1 (2).jpg', 'https://cdn.example.com/写真/猫.png', '/a/f=info']) {
    const image = await atEdge(imageUrl(src, { format: 'png' }));
    assert.equal(await atEdge(infoUrl(src)), image.replace(/\/[^/]+$/, '/f=info'), src);
  }
});

test('paths URL parsing would silently rewrite are refused, not redirected to another image', () => {
  const cases = [
    ['photos\\cat.jpg', 'backslash in key'],
    ['/photos/../secret.jpg', 'dot segment in key'],
    ['/photos/%2e%2e/secret.jpg', 'dot segment in key'],
    ['/photos/./cat.jpg', 'dot segment in key'],
    ['https://cdn.example.com/a/../b.jpg', 'dot segment in key'],
  ];
  for (const [src, message] of cases) {
    assert.throws(() => mod.imageUrl(src, { width: 600 }), { name: 'ImageUrlError', message }, src);
  }
  assert.equal(mod.imageUrl('/a/.hidden.jpg', { width: 600 }), '/a/.hidden.jpg?w=640');
});

test('a custom policy: ties go up, a width-only policy refuses heights, all as its own edge does', async () => {
  const custom = { ...policyFile, qualities: [40, 60, 80], quality: { ...policyFile.quality, default: 60 }, heights: [], fits: ['cover'] };
  const edge = loadFunction(await minifyFunction(renderTemplate(readFileSync(TEMPLATE_PATH, 'utf8'), JSON.stringify(custom))));
  const urls = createImageUrls({ baseUrl: '', policy: custom });
  const cases = [
    [50, '/a.jpg?w=640'], // halfway 40–60: up, to 60 (the default, so no q)
    [70, '/a.jpg?w=640&q=80'], // halfway 60–80: up
    [49, '/a.jpg?w=640&q=40'],
    [51, '/a.jpg?w=640'],
    [100, '/a.jpg?w=640&q=80'],
  ];
  for (const [quality, expected] of cases) {
    const url = urls.imageUrl('/a.jpg', { width: 600, quality });
    assert.equal(url, expected, `quality ${quality}`);
    const q = nearest(quality, custom.qualities);
    assert.equal(await atEdge(url, null, edge), `/a.jpg/w=640,q=${q},f=auto-orig`, url);
    // the edge snaps the raw number the same way
    assert.equal(await atEdge(`/a.jpg?w=600&q=${quality}`, null, edge), `/a.jpg/w=640,q=${q},f=auto-orig`);
  }
  const message = 'invalid h: this policy has no heights';
  assert.throws(() => urls.imageUrl('/a.jpg', { width: 600, height: 400 }), { name: 'ImageUrlError', message });
  assert.throws(() => urls.imageUrl('/a.jpg', { height: 'x' }), { name: 'ImageUrlError', message });
  assert.equal(await edgeRefusal('w=600&h=400', edge), message);
  assert.deepEqual([...urls.heights], []);
  assert.throws(() => urls.imageUrl('/a.jpg', { width: 1, height: 1, fit: 'contain' }), { message });
  assert.equal(await atEdge(urls.imageUrl('/a.jpg', { width: 600, quality: 'auto:eco' }), null, edge), '/a.jpg/w=640,q=auto-eco,f=auto-orig');
});
