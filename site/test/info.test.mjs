// Image info: infoUrl() shapes, and getImageInfo() / imageProps() against the real local
// endpoint (`image-origin serve`) over HTTP: real documents, the origin's 404 and 415, a
// network failure; an injected fetch for what the endpoint never answers (a 200 that is
// not an info document).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { createImageUrls, getImageInfo, ImageInfoError, ImageUrlError, infoUrl } from '../lib/index.mjs';
import { imageProps } from '../lib/next.mjs';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const SERVE = process.env.IMAGE_ORIGIN_BIN ?? join(ROOT, '.venv', 'bin', 'image-origin');
const EXAMPLES = join(ROOT, 'examples', 'images');

const work = mkdtempSync(join(tmpdir(), 'image-origin-info-'));
let cdn;
let server;
let log = '';

function freePort() {
  return new Promise((done, fail) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => done(port));
    });
    s.on('error', fail);
  });
}

before(async () => {
  // Originals whose keys need the builder's encoding (space, +, parentheses, non-ASCII, a
  // directory), and one that is not an image.
  const originals = join(work, 'originals');
  mkdirSync(join(originals, '写真'), { recursive: true });
  copyFileSync(join(EXAMPLES, 'portrait-orientation-6.jpg'), join(originals, 'portrait-orientation-6.jpg'));
  copyFileSync(join(EXAMPLES, 'portrait-orientation-6.jpg'), join(originals, 'my cat+1 (2).jpg'));
  copyFileSync(join(EXAMPLES, 'bonfire-rgba.png'), join(originals, '写真', '猫.png'));
  copyFileSync(join(EXAMPLES, 'SOURCES.md'), join(originals, 'notes.jpg'));
  writeFileSync(join(originals, 'readme.txt'), 'not an image\n');

  const port = await freePort();
  cdn = `http://127.0.0.1:${port}`;
  server = spawn(SERVE, ['serve', '--originals', originals, '--derived', join(work, 'derived'), '--port', String(port)], {
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout.on('data', (d) => (log += d));
  server.stderr.on('data', (d) => (log += d));
  // Readiness (bounded, so a dead server fails): the first 200 from the endpoint.
  for (let i = 0; ; i++) {
    if (server.exitCode !== null) assert.fail(`image-origin serve exited (${server.exitCode}):\n${log}`);
    try {
      if ((await fetch(`${cdn}/readme.txt?info`)).status === 415) break;
    } catch {
      // not listening yet
    }
    if (i > 300) assert.fail(`image-origin serve never answered:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(() => {
  if (server?.exitCode === null) {
    try {
      process.kill(-server.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  rmSync(work, { recursive: true, force: true });
});

test('infoUrl: the key as for images, then ?info; the same refusals', () => {
  assert.equal(infoUrl('/photos/cat.jpg'), '/photos/cat.jpg?info');
  assert.equal(infoUrl('photos/my cat+1 (2).jpg?v=3#top'), '/photos/my%20cat%2B1%20%282%29.jpg?info');
  assert.equal(infoUrl('https://cdn.example.com/写真/猫.png'), 'https://cdn.example.com/%E5%86%99%E7%9C%9F/%E7%8C%AB.png?info');
  const urls = createImageUrls({ baseUrl: 'https://cdn.example.com/img/' });
  assert.equal(urls.infoUrl('/photos/cat.jpg'), 'https://cdn.example.com/img/photos/cat.jpg?info');
  for (const [src, message] of [
    ['/a//b.jpg', 'empty path segment in key'],
    ['/photos/../secret.jpg', 'dot segment in key'],
    ['/100%.jpg', 'invalid percent-encoding in path'],
    ['', 'missing image key'],
    [`/${'a'.repeat(961)}`, 'escaped key longer than 960 bytes'],
    ['data:image/png;base64,iVBORw0KGgo=', /data: and blob: URLs are not images on the origin/],
  ]) {
    assert.throws(() => urls.infoUrl(src), (e) => e instanceof ImageUrlError && (typeof message === 'string' ? e.message === message : message.test(e.message)), src);
  }
});

test('getImageInfo: the endpoint\'s document, upright size, checked shape', async () => {
  const { getImageInfo: info } = createImageUrls({ baseUrl: cdn });
  const portrait = await info('/portrait-orientation-6.jpg');
  assert.deepEqual(Object.keys(portrait), ['width', 'height', 'format', 'bytes', 'alpha', 'animated', 'frames', 'dominantColor', 'thumbHash', 'blurDataURL']);
  // Stored 1800×1200 with EXIF orientation 6: shown (and reported) 1200×1800.
  assert.deepEqual(
    { width: portrait.width, height: portrait.height, format: portrait.format, alpha: portrait.alpha, animated: portrait.animated, frames: portrait.frames },
    { width: 1200, height: 1800, format: 'jpeg', alpha: false, animated: false, frames: 1 },
  );
  assert.match(portrait.blurDataURL, /^data:image\/(webp|jpeg);base64,/);
  assert.ok(portrait.blurDataURL.length <= 400, portrait.blurDataURL);
  assert.match(portrait.dominantColor, /^#[0-9a-f]{6}$/);
  // Keys that need encoding reach their original; the same document as the real key's.
  assert.deepEqual(await info('/my cat+1 (2).jpg'), portrait);
  const png = await info('写真/猫.png');
  assert.deepEqual([png.width, png.height, png.format, png.alpha], [3751, 3751, 'png', true]);
  // The standalone takes absolute srcs (its own origin) and refuses root-relative ones.
  assert.deepEqual(await getImageInfo(`${cdn}/portrait-orientation-6.jpg`), portrait);
  await assert.rejects(getImageInfo('/portrait-orientation-6.jpg'), { name: 'ImageInfoError', status: 0, message: /is root-relative: use createImageUrls\(\{ baseUrl/ });
});

test('getImageInfo: the origin\'s errors, with its message; a bad src fails before any request', async () => {
  const { getImageInfo: info } = createImageUrls({ baseUrl: cdn });
  await assert.rejects(info('/missing.jpg'), (e) => {
    assert.ok(e instanceof ImageInfoError);
    assert.equal(e.name, 'ImageInfoError');
    assert.equal(e.status, 404);
    assert.equal(e.url, `${cdn}/missing.jpg?info`);
    assert.equal(e.message, `image info ${cdn}/missing.jpg?info: 404 no such original`);
    return true;
  });
  for (const key of ['/readme.txt', '/notes.jpg']) {
    await assert.rejects(info(key), {
      name: 'ImageInfoError',
      status: 415,
      message: `image info ${cdn}${key}?info: 415 not an allowed image format (jpeg, png, gif, webp, avif)`,
    });
  }
  let calls = 0;
  const counting = (url, init) => (calls++, fetch(url, init));
  await assert.rejects(info('/a//b.jpg', { fetch: counting }), { name: 'ImageUrlError', message: 'empty path segment in key' });
  assert.equal(calls, 0);
});

test('getImageInfo: no answer is an ImageInfoError with the cause', async () => {
  const closed = `http://127.0.0.1:${await freePort()}`;
  await assert.rejects(createImageUrls({ baseUrl: closed }).getImageInfo('/a.jpg'), (e) => {
    assert.equal(e.name, 'ImageInfoError');
    assert.equal(e.status, 0);
    assert.match(e.message, new RegExp(`^image info ${closed}/a\\.jpg\\?info: no answer: ECONNREFUSED$`));
    assert.ok(e.cause instanceof Error);
    return true;
  });
});

test('getImageInfo: an injected fetch gets the URL and the rest of init; a 200 that is not info is refused', async () => {
  const seen = [];
  const spy = (url, init) => (seen.push([url, init]), fetch(url, init));
  const { getImageInfo: info } = createImageUrls({ baseUrl: cdn });
  const got = await info('/portrait-orientation-6.jpg', { fetch: spy, next: { revalidate: 3600 }, headers: { accept: 'application/json' } });
  assert.equal(got.width, 1200);
  assert.deepEqual(seen, [[`${cdn}/portrait-orientation-6.jpg?info`, { next: { revalidate: 3600 }, headers: { accept: 'application/json' } }]]);

  // What a wrong baseUrl gives: the site's own HTML, or JSON of another shape.
  const answer = (status, type, body) => async () => new Response(body, { status, headers: { 'content-type': type } });
  await assert.rejects(info('/a.jpg', { fetch: answer(200, 'text/html', '<!doctype html><title>Home</title>') }), {
    name: 'ImageInfoError',
    status: 200,
    message: `image info ${cdn}/a.jpg?info: not an info document (200, text/html: "<!doctype html><title>Home</title>")`,
  });
  const real = await (await fetch(`${cdn}/portrait-orientation-6.jpg?info`)).json();
  for (const [field, value] of [['width', '1200'], ['height', 0], ['alpha', 'false'], ['dominantColor', 'red'], ['blurDataURL', 'https://cdn.example.com/a.jpg?w=16'], ['thumbHash', undefined]]) {
    const body = JSON.stringify({ ...real, [field]: value });
    await assert.rejects(info('/a.jpg', { fetch: answer(200, 'application/json', body) }), {
      status: 200,
      message: `image info ${cdn}/a.jpg?info: not an info document: ${field} is ${JSON.stringify(value) ?? 'missing'}`,
    }, field);
  }
  const cut = async () => ({ status: 200, text: async () => Promise.reject(new Error('terminated')) });
  await assert.rejects(info('/a.jpg', { fetch: cut }), { name: 'ImageInfoError', status: 200, message: `image info ${cdn}/a.jpg?info: 200, answer cut short: terminated` });
  // A multi-line or empty error body: the first line, or the status alone.
  await assert.rejects(info('/a.jpg', { fetch: answer(503, 'text/plain', '503 origin busy\ntrace…') }), { status: 503, message: `image info ${cdn}/a.jpg?info: 503 origin busy` });
  await assert.rejects(info('/a.jpg', { fetch: answer(502, 'text/plain', '') }), { status: 502, message: `image info ${cdn}/a.jpg?info: 502` });
});

test('imageProps: next/image props from NEXT_PUBLIC_IMAGE_CDN, its errors', async () => {
  const saved = process.env.NEXT_PUBLIC_IMAGE_CDN;
  try {
    process.env.NEXT_PUBLIC_IMAGE_CDN = cdn;
    const real = await (await fetch(`${cdn}/portrait-orientation-6.jpg?info`)).json();
    assert.deepEqual(await imageProps('/portrait-orientation-6.jpg'), {
      src: '/portrait-orientation-6.jpg',
      width: 1200,
      height: 1800,
      placeholder: 'blur',
      blurDataURL: real.blurDataURL,
    });
    await assert.rejects(imageProps('/missing.jpg'), { name: 'ImageInfoError', status: 404, message: /: 404 no such original$/ });
    process.env.NEXT_PUBLIC_IMAGE_CDN = 'cdn.example.com';
    await assert.rejects(imageProps('/portrait-orientation-6.jpg'), { name: 'ImageUrlError', message: /^image-origin\/next: NEXT_PUBLIC_IMAGE_CDN: baseUrl must be an absolute http\(s\) URL/ });
    delete process.env.NEXT_PUBLIC_IMAGE_CDN;
    await assert.rejects(imageProps('/portrait-orientation-6.jpg'), { name: 'ImageUrlError', message: /NEXT_PUBLIC_IMAGE_CDN is not set/ });
  } finally {
    if (saved === undefined) delete process.env.NEXT_PUBLIC_IMAGE_CDN;
    else process.env.NEXT_PUBLIC_IMAGE_CDN = saved;
  }
});
