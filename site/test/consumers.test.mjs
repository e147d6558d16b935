// The package as users get it: `npm pack`, the tarball installed into the fixture apps
// (site/test/fixture: one `npm ci` from its lockfile, then `npm install <tgz>`), strict
// tsc under three module resolutions with TypeScript 6 and 7, a real `next build` +
// `next start` (Next.js 16, App Router) and a real `vite build` + `vite preview` (Vite 8 +
// React), each page loaded in headless Chromium against the local endpoint
// (`image-origin serve --originals examples/images`): every image AVIF from the endpoint,
// every srcset candidate at a policy width with the matching descriptor, every image as
// sharp as its slot, no console errors, and the builds without a warning; and the Next.js
// blur placeholder from the image info shown while the image request is held; and the
// Next.js /signed page (image-origin/sign in a Server Component) against a second endpoint
// with signing required: every candidate signed and served, the secret in no built file.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { createSigner, newSecret } from '../lib/sign.mjs';

const SITE = resolve(fileURLToPath(import.meta.url), '..', '..');
const ROOT = resolve(SITE, '..');
const FIXTURE = join(SITE, 'test', 'fixture');
const POLICY = JSON.parse(readFileSync(join(ROOT, 'origin_handler', 'policy.json'), 'utf8'));
const SERVE = process.env.IMAGE_ORIGIN_BIN ?? join(ROOT, '.venv', 'bin', 'image-origin');
const CHROMIUM = process.env.CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(existsSync);
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const WARNING = /warn|⚠|\(!\)|deprecat/i;

const work = mkdtempSync(join(tmpdir(), 'image-origin-site-'));
const app = join(work, 'fixture');
const children = [];
let cdn; // the local endpoint's origin, e.g. http://127.0.0.1:41234
let signedCdn; // a second one, its policy with signing required and key k1
let browser;
// The /signed page's key: a fresh secret per run, so finding it in a built file is a leak.
const SECRET = newSecret();
const signer = createSigner({ keyId: 'k1', secret: SECRET });
// Every build sees them (the page refuses to build without), as a site's server would.
const signingEnv = { IMAGE_SIGNING_SECRET: SECRET };

function run(command, args, { cwd = app, env = {}, unset = [] } = {}) {
  const childEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...signingEnv, ...env };
  // Under CI=… Next.js warns "No build cache found" about the CI setup, not about the app.
  for (const name of ['CI', ...unset]) delete childEnv[name];
  const r = spawnSync(command, args, { cwd, env: childEnv, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, output: `${r.stdout}${r.stderr}` };
}

function ok(command, args, options) {
  const r = run(command, args, options);
  assert.equal(r.status, 0, `${command} ${args.join(' ')} failed:\n${r.output}`);
  return r;
}

const bin = (name) => join(app, 'node_modules', '.bin', name);

function freePort() {
  return new Promise((done, fail) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => done(port));
    });
    s.on('error', fail);
  });
}

/** Start a long-running process in its own process group; stopped in after(). */
function start(command, args, { cwd = app, env = {} } = {}) {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', PYTHONUNBUFFERED: '1', ...signingEnv, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.log = '';
  child.stdout.on('data', (d) => (child.log += d));
  child.stderr.on('data', (d) => (child.log += d));
  children.push(child);
  return child;
}

/** Wait until url answers 200 (readiness, not timing: bounded so a dead server fails). */
async function ready(url, child) {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) assert.fail(`server exited (${child.exitCode}):\n${child.log}`);
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${url} never answered 200:\n${child.log}`);
}

before(async () => {
  // The tarball exactly as `npm pack` makes it (prepack regenerates lib/policy.*).
  const packed = JSON.parse(ok('npm', ['pack', '--json', '--pack-destination', work], { cwd: SITE }).stdout.replace(/^[^[]*/, ''));
  const tarball = join(work, packed[0].filename);
  cpSync(FIXTURE, app, {
    recursive: true,
    filter: (src) => !/[\\/](node_modules|\.next|dist)([\\/]|$)/.test(src.slice(FIXTURE.length)),
  });
  const npm = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];
  ok('npm', ['ci', ...npm]);
  ok('npm', ['install', '--no-save', ...npm, tarball]);

  const port = await freePort();
  cdn = `http://127.0.0.1:${port}`;
  const origin = start(SERVE, ['serve', '--originals', join(ROOT, 'examples', 'images'), '--derived', join(work, 'derived'), '--port', String(port)], { cwd: ROOT });
  const signedPort = await freePort();
  signedCdn = `http://127.0.0.1:${signedPort}`;
  signingEnv.SIGNED_IMAGE_CDN = signedCdn;
  const required = join(work, 'policy-signing-required.json');
  writeFileSync(required, JSON.stringify({ ...POLICY, signing: { mode: 'required' } }));
  const signedOrigin = start(
    SERVE,
    ['serve', '--originals', join(ROOT, 'examples', 'images'), '--derived', join(work, 'derived-signed'), '--port', String(signedPort), '--policy', required],
    { cwd: ROOT, env: { SIGNING_KEYS: JSON.stringify({ k1: SECRET }) } },
  );
  await ready(`${cdn}/bonfire-rgba.png?w=16`, origin);
  await ready(signer(`${signedCdn}/bonfire-rgba.png?w=16`), signedOrigin);

  assert.ok(CHROMIUM, 'chromium is required (scripts/system-deps.sh installs it)');
  const { chromium } = await import(pathToFileURL(join(app, 'node_modules', 'playwright-core', 'index.mjs')).href);
  // launch() gives the browser a fresh temporary profile (--user-data-dir) and --headless.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
});

after(async () => {
  await browser?.close();
  for (const child of children) {
    if (child.exitCode === null) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  }
  rmSync(work, { recursive: true, force: true });
});

/** Load url in Chromium and return what every <img> got, after checking the network and console. */
async function inspect(url, { width, height, dpr }) {
  const context = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: dpr });
  const page = await context.newPage();
  const problems = [];
  const responses = new Map();
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${r.status()}: ${r.url()}`);
    if (r.request().resourceType() === 'image') responses.set(r.url(), r);
  });
  await page.goto(url, { waitUntil: 'load' });
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight)); // lazy images
  await page.waitForFunction(() => [...document.images].every((i) => i.complete), null, { timeout: 180_000 });
  const images = await page.$$eval('img', (els) =>
    els.map((i) => ({
      alt: i.alt,
      kind: i.dataset.kind ?? null,
      currentSrc: i.currentSrc,
      srcset: i.getAttribute('srcset'),
      sizes: i.getAttribute('sizes'),
      widthAttr: Number(i.getAttribute('width')),
      naturalWidth: i.naturalWidth,
      clientWidth: i.clientWidth,
    })),
  );
  const served = new Map();
  for (const [u, r] of responses) {
    const type = r.headers()['content-type'];
    const body = r.status() === 200 && !u.startsWith('data:') ? await r.body() : null;
    served.set(u, { status: r.status(), type, pixels: type === 'image/avif' ? avifWidth(body) : null });
  }
  await context.close();
  assert.deepEqual(problems, [], url);
  return { images, responses: served };
}

/** Pixel width of an AVIF file, from its 'ispe' (image spatial extents) property. */
function avifWidth(bytes) {
  const at = bytes.indexOf('ispe');
  assert.ok(at > 0, 'AVIF without an ispe box');
  return bytes.readUInt32BE(at + 8);
}

/** The checks of issue 13 for a page of CDN images. */
function checkCdnImages({ images, responses }, { dpr, count, origin = cdn }) {
  assert.equal(images.length, count);
  for (const img of images) {
    assert.ok(img.naturalWidth > 0, `${img.alt}: not rendered`);
    const candidates = img.srcset.split(', ').map((c) => {
      const [u, descriptor] = c.split(' ');
      return { u, descriptor };
    });
    for (const { u, descriptor } of candidates) {
      const parsed = new URL(u);
      assert.equal(parsed.origin, origin, u);
      const w = Number(parsed.searchParams.get('w'));
      assert.ok(POLICY.widths.includes(w), `${u}: ${w} is not a policy width`);
      assert.equal(descriptor, `${w}w`, `${u}: descriptor ${descriptor}`);
    }
    assert.ok(candidates.some(({ u }) => u === img.currentSrc), `${img.alt}: ${img.currentSrc} not from srcset`);
    const got = responses.get(img.currentSrc);
    assert.equal(got?.status, 200, img.currentSrc);
    assert.equal(got.type, 'image/avif', img.currentSrc);
    // Sharp: the variant has at least the device pixels of its slot (or all the original
    // has). naturalWidth is in CSS pixels (divided by the srcset density): use the file's.
    const needed = Math.min(Math.round(img.clientWidth * dpr), img.widthAttr);
    assert.ok(got.pixels >= needed, `${img.alt}: ${got.pixels} px shown ${img.clientWidth} CSS px wide at DPR ${dpr}`);
  }
  for (const [u, r] of responses) {
    if (u.startsWith(origin)) assert.deepEqual([r.status, r.type], [200, 'image/avif'], u);
  }
}

const VIEWPORTS = [
  { name: 'desktop', width: 1280, height: 900, dpr: 1 }, // 50vw slots: the 640 variant
  { name: 'phone', width: 390, height: 844, dpr: 3 }, // 100vw at DPR 3: the 1200 variant
];

test('strict tsc accepts the documented calls and rejects the wrong ones (bundler, node16, nodenext; TypeScript 6 and 7)', () => {
  for (const compiler of ['typescript', 'typescript-7']) {
    const tsc = join(app, 'node_modules', compiler, 'bin', 'tsc');
    for (const resolution of ['bundler', 'node16', 'nodenext']) {
      const { output: out } = ok(process.execPath, [tsc, '-p', `tsconfig.${resolution}.json`], { cwd: join(app, 'tsc') });
      assert.equal(out.trim(), '', `${compiler} ${resolution}`);
    }
    // The Vite app's own project (moduleResolution bundler, React JSX) type-checks too.
    ok(process.execPath, [tsc, '-p', '.'], { cwd: join(app, 'vite-app') });
  }
});

test('next build fails, naming the setting, without NEXT_PUBLIC_IMAGE_CDN', () => {
  const r = run(bin('next'), ['build'], { cwd: join(app, 'next-app'), unset: ['NEXT_PUBLIC_IMAGE_CDN'] });
  assert.notEqual(r.status, 0, r.output);
  assert.match(r.output, /image-origin\/next: NEXT_PUBLIC_IMAGE_CDN is not set\. Set it to the CDN origin/);
});

test('next build fails on a static import without unoptimized, with the loader message', () => {
  const r = run(bin('next'), ['build'], {
    cwd: join(app, 'next-app'),
    // The local endpoint: the /placeholder page fetches image info while it is prerendered.
    env: { NEXT_PUBLIC_IMAGE_CDN: cdn, FIXTURE_STATIC_IMPORT_WITHOUT_UNOPTIMIZED: '1' },
  });
  assert.notEqual(r.status, 0, r.output);
  assert.match(r.output, /image-origin\/next: "\/_next\/static\/media\/badge\.[^"]+\.png" is a file Next\.js serves itself/);
});

test('Next.js: next build without warnings, next start, AVIF at policy widths in Chromium, the blur placeholder before the image', async () => {
  const dir = join(app, 'next-app');
  const { output: out } = ok(bin('next'), ['build'], { cwd: dir, env: { NEXT_PUBLIC_IMAGE_CDN: cdn } });
  assert.doesNotMatch(out, WARNING, out);
  const port = await freePort();
  const site = `http://127.0.0.1:${port}`;
  const server = start(bin('next'), ['start', '-H', '127.0.0.1', '-p', String(port)], { cwd: dir });
  await ready(site, server);

  for (const viewport of VIEWPORTS) {
    checkCdnImages(await inspect(`${site}/`, viewport), { dpr: viewport.dpr, count: 5 });
  }
  // Files Next.js serves itself: the static import (unoptimized) and a data: URL.
  const { images, responses } = await inspect(`${site}/static`, VIEWPORTS[0]);
  assert.deepEqual(images.map((i) => i.kind), ['static', 'data']);
  const [pic, dot] = images;
  assert.match(pic.currentSrc, new RegExp(`^${site}/_next/static/media/badge\\.[^/]+\\.png$`));
  assert.deepEqual(responses.get(pic.currentSrc), { status: 200, type: 'image/png', pixels: null });
  assert.match(dot.currentSrc, /^data:image\/png;base64,/);
  for (const img of images) {
    assert.equal(img.srcset, null);
    assert.equal(img.naturalWidth, 96);
  }
  await placeholderFirst(`${site}/placeholder`);
  await signedPage(`${site}/signed`, dir);
});

/**
 * The /signed page: getImageProps() with a signing loader in a Server Component, the
 * images from the endpoint with signing required. Every candidate carries its s and is
 * served (AVIF, sharp) in Chromium; the same URL unsigned is refused; the secret is in no
 * file of the build, the HTML and the client chunks included.
 */
async function signedPage(url, dir) {
  let first;
  for (const viewport of VIEWPORTS) {
    const result = await inspect(url, viewport);
    checkCdnImages(result, { dpr: viewport.dpr, count: 4, origin: signedCdn });
    for (const img of result.images) {
      assert.equal(img.kind, 'signed');
      for (const candidate of img.srcset.split(', ')) {
        const u = new URL(candidate.split(' ')[0]);
        assert.match(u.searchParams.get('s') ?? '', /^k1\.[A-Za-z0-9_-]{43}$/, u.href);
        assert.equal(signer(u.href), u.href, `${u.href}: not its own signature`);
        first ??= u;
      }
    }
  }
  const unsigned = new URL(first);
  unsigned.searchParams.delete('s');
  const refused = await fetch(unsigned);
  assert.deepEqual([refused.status, (await refused.text()).trim()], [403, '403 missing signature'], unsigned.href);
  const built = join(dir, '.next');
  const leaks = readdirSync(built, { recursive: true })
    .map((f) => join(built, f))
    .filter((f) => statSync(f).isFile() && readFileSync(f).includes(SECRET));
  assert.deepEqual(leaks, [], 'the signing secret is in built files');
}

/**
 * The /placeholder page: <Image {...await imageProps(key)} /> prerendered by `next build`
 * from the endpoint's info document. The image request is held (page.route) until the
 * placeholder has been seen: the upright size reserved, the info's blurDataURL as the
 * img's background, the pixels on screen those of the blur (not the blank page); then
 * released, the image decodes and Next.js drops the placeholder.
 */
async function placeholderFirst(url) {
  const key = '/portrait-orientation-6.jpg';
  const info = await (await fetch(`${cdn}${key}?info`)).json();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`));
  let release;
  const released = new Promise((r) => (release = r));
  const held = [];
  let arrived;
  const first = new Promise((r) => (arrived = r));
  await page.route(
    (u) => u.href.startsWith(`${cdn}${key}?`),
    async (route) => {
      held.push(route.request().url());
      arrived();
      await released;
      await route.continue();
    },
  );
  try {
    // Not 'load': that waits for the held image.
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    await first;
    const img = page.locator('img[data-kind="blur"]');
    const before = await img.evaluate((i) => ({
      complete: i.complete,
      naturalWidth: i.naturalWidth,
      box: [i.clientWidth, i.clientHeight],
      background: getComputedStyle(i).backgroundImage,
    }));
    assert.equal(before.complete, false);
    assert.equal(before.naturalWidth, 0);
    assert.deepEqual(before.box, [1280, 1920], 'the info size reserves the upright 2:3 box');
    assert.ok(before.background.includes(info.blurDataURL), `background-image without the blurDataURL: ${before.background}`);
    // What is on screen meanwhile: the blurred thumbnail, near the info's dominant colour,
    // not the white page (PNG decoded by the page itself).
    const shot = await page.screenshot({ clip: { x: 0, y: 0, width: 1280, height: 900 } });
    const { mean, white } = await page.evaluate(async (b64) => {
      const bitmap = await createImageBitmap(await (await fetch(`data:image/png;base64,${b64}`)).blob());
      const g = new OffscreenCanvas(bitmap.width, bitmap.height).getContext('2d');
      g.drawImage(bitmap, 0, 0);
      const d = g.getImageData(0, 0, bitmap.width, bitmap.height).data;
      const sum = [0, 0, 0];
      let whites = 0;
      for (let i = 0; i < d.length; i += 4) {
        for (let c = 0; c < 3; c++) sum[c] += d[i + c];
        if (d[i] > 245 && d[i + 1] > 245 && d[i + 2] > 245) whites++;
      }
      return { mean: sum.map((v) => v / (d.length / 4)), white: whites / (d.length / 4) };
    }, shot.toString('base64'));
    assert.ok(white < 0.01, `${white * 100}% of the viewport is blank while the image is held`);
    const dominant = [1, 3, 5].map((at) => parseInt(info.dominantColor.slice(at, at + 2), 16));
    for (let c = 0; c < 3; c++) {
      assert.ok(Math.abs(mean[c] - dominant[c]) < 64, `screen mean ${mean.map(Math.round)} far from ${info.dominantColor}`);
    }
    assert.equal(held.length, 1, held.join(' '));
    assert.equal(await img.evaluate((i) => i.complete), false, 'the image arrived while held');

    release();
    await page.waitForFunction(
      () => {
        const i = document.querySelector('img[data-kind="blur"]');
        return i.complete && i.naturalWidth > 0 && getComputedStyle(i).backgroundImage === 'none';
      },
      null,
      { timeout: 180_000 },
    );
    const after = await img.evaluate(async (i) => {
      await i.decode();
      return { currentSrc: i.currentSrc, box: [i.clientWidth, i.clientHeight] };
    });
    assert.equal(after.currentSrc, held[0]);
    assert.deepEqual(after.box, [1280, 1920], 'no layout shift when the image arrives');
  } finally {
    release();
    await context.close();
  }
  assert.deepEqual(problems, [], url);
}

test('vite build fails without VITE_IMAGE_CDN', () => {
  const r = run(bin('vite'), ['build'], { cwd: join(app, 'vite-app'), unset: ['VITE_IMAGE_CDN'] });
  assert.notEqual(r.status, 0, r.output);
  assert.match(r.output, /set VITE_IMAGE_CDN to the CDN origin/);
});

test('Vite + React: vite build without warnings, vite preview, AVIF at policy widths in Chromium', async () => {
  const dir = join(app, 'vite-app');
  const { output: out } = ok(bin('vite'), ['build'], { cwd: dir, env: { VITE_IMAGE_CDN: cdn } });
  assert.doesNotMatch(out, WARNING, out);
  const port = await freePort();
  const site = `http://127.0.0.1:${port}`;
  const server = start(bin('vite'), ['preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], { cwd: dir });
  await ready(site, server);
  for (const viewport of VIEWPORTS) {
    checkCdnImages(await inspect(`${site}/`, viewport), { dpr: viewport.dpr, count: 4 });
  }
});
