// 'image-origin/next' and 'image-origin/next/loader' in plain Node: the images config
// derived from the policy, and the loader's refusals (the real `next build` that uses them
// is in consumers.test.mjs).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';

const SITE = resolve(fileURLToPath(import.meta.url), '..', '..');
const policy = JSON.parse(readFileSync(join(SITE, '..', 'origin_handler', 'policy.json'), 'utf8'));
const { imagesConfig, createImageLoader, BASE_URL_SETTING } = await import('../lib/next.mjs');
const { default: readyLoader } = await import('../lib/next-loader.mjs');

function withEnv(vars, fn) {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  for (const [k, v] of Object.entries(vars)) if (v === undefined) delete process.env[k];
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

test('imagesConfig: the policy widths split as Next.js does, every policy quality, the ready loader', () => {
  const config = withEnv({ NEXT_PUBLIC_IMAGE_CDN: 'https://cdn.example.com' }, () => imagesConfig({ dir: SITE }));
  assert.equal(config.loader, 'custom');
  assert.deepEqual([...config.imageSizes, ...config.deviceSizes], policy.widths);
  assert.deepEqual(config.imageSizes, [16, 32, 48, 64, 96, 128, 256, 384]);
  assert.deepEqual(config.qualities, [50, 75, 90]);
  assert.deepEqual(config.qualities, policy.qualities);
  // Next.js resolves loaderFile with path.join(projectDir, loaderFile).
  assert.equal(config.loaderFile, './lib/next-loader.mjs');
  assert.ok(existsSync(join(SITE, config.loaderFile)));
  const sub = withEnv({ NEXT_PUBLIC_IMAGE_CDN: 'https://cdn.example.com' }, () => imagesConfig({ qualities: [50, 75] }));
  assert.deepEqual(sub.qualities, [50, 75]);
});

test('imagesConfig fails, naming the setting, without a usable CDN base URL', () => {
  for (const value of [undefined, '']) {
    assert.throws(
      () => withEnv({ NEXT_PUBLIC_IMAGE_CDN: value }, () => imagesConfig()),
      { name: 'ImageUrlError', message: /^image-origin\/next: NEXT_PUBLIC_IMAGE_CDN is not set\. Set it to the CDN origin/ },
    );
  }
  assert.throws(
    () => withEnv({ NEXT_PUBLIC_IMAGE_CDN: 'cdn.example.com' }, () => imagesConfig()),
    { message: /^image-origin\/next: NEXT_PUBLIC_IMAGE_CDN: baseUrl must be an absolute http\(s\) URL/ },
  );
  assert.equal(BASE_URL_SETTING, 'NEXT_PUBLIC_IMAGE_CDN');
  // With the phase, building and developing need it; `next start` does not (already inlined).
  for (const phase of ['phase-production-build', 'phase-development-server']) {
    assert.throws(() => withEnv({ NEXT_PUBLIC_IMAGE_CDN: undefined }, () => imagesConfig({ phase })), /NEXT_PUBLIC_IMAGE_CDN is not set/);
  }
  const started = withEnv({ NEXT_PUBLIC_IMAGE_CDN: undefined }, () => imagesConfig({ phase: 'phase-production-server' }));
  assert.deepEqual([...started.imageSizes, ...started.deviceSizes], policy.widths);
  assert.throws(
    () => withEnv({ NEXT_PUBLIC_IMAGE_CDN: 'https://cdn.example.com' }, () => imagesConfig({ qualities: [72] })),
    /qualities 72 are not policy qualities/,
  );
});

test('the loader: policy widths exactly, static files and a missing base refused', () => {
  const loader = createImageLoader({ baseUrl: 'https://cdn.example.com' });
  assert.equal(loader.length, 1);
  assert.equal(loader({ src: '/photos/cat.jpg', width: 640 }), 'https://cdn.example.com/photos/cat.jpg?w=640');
  assert.equal(loader({ src: '/photos/cat.jpg', width: 828, quality: 72 }), 'https://cdn.example.com/photos/cat.jpg?w=828'); // snapped to the default
  assert.equal(loader({ src: '/photos/cat.jpg', width: 828, quality: 50 }), 'https://cdn.example.com/photos/cat.jpg?w=828&q=50');
  assert.equal(loader({ src: '/photos/cat.jpg', width: 828, quality: 88 }), 'https://cdn.example.com/photos/cat.jpg?w=828&q=90');
  // q=auto levels pass through to the URL (a loader called by your own code may give one)
  assert.equal(loader({ src: '/photos/cat.jpg', width: 828, quality: 'auto' }), 'https://cdn.example.com/photos/cat.jpg?w=828&q=auto');
  assert.equal(loader({ src: '/photos/cat.jpg', width: 828, quality: 'auto:eco' }), 'https://cdn.example.com/photos/cat.jpg?w=828&q=auto:eco');
  assert.throws(() => loader({ src: '/a.jpg', width: 828, quality: 'auto:max' }), { message: 'invalid q: expected one of auto, auto:high, auto:good, auto:eco' });
  for (const src of ['/_next/static/media/cat.3f2a1b.jpg', '/blog/_next/static/media/cat.jpg', 'https://assets.example.com/_next/static/media/a.png']) {
    assert.throws(() => loader({ src, width: 640 }), { name: 'ImageUrlError', message: /a file Next.js serves itself \(a static import/ }, src);
  }
  assert.throws(() => loader({ src: 'data:image/png;base64,AAAA', width: 640 }), /data: and blob: URLs/);
  // A width outside the policy would get a descriptor that lies about the variant: refused
  // in production builds (development also probes the loader with the width prop).
  withEnv({ NODE_ENV: 'production' }, () => {
    assert.throws(() => loader({ src: '/a.jpg', width: 700 }), {
      message: /asked for width 700, not a policy width .*: its srcset would say 700w for the 750 px variant\. Set images: imagesConfig\(\)/,
    });
  });
  withEnv({ NODE_ENV: 'development' }, () => assert.equal(loader({ src: '/a.jpg', width: 700 }), 'https://cdn.example.com/a.jpg?w=750'));
  assert.throws(() => createImageLoader({}), /createImageLoader needs baseUrl/);
});

test('the ready loader reads NEXT_PUBLIC_IMAGE_CDN and names it when missing', () => {
  assert.throws(
    () => withEnv({ NEXT_PUBLIC_IMAGE_CDN: undefined }, () => readyLoader({ src: '/a.jpg', width: 640 })),
    { name: 'ImageUrlError', message: /NEXT_PUBLIC_IMAGE_CDN is not set/ },
  );
  const url = withEnv({ NEXT_PUBLIC_IMAGE_CDN: 'https://cdn.example.com/img' }, () => readyLoader({ src: 'a b.jpg', width: 16 }));
  assert.equal(url, 'https://cdn.example.com/img/a%20b.jpg?w=16');
});
