// Image URLs for the site: imageUrl() and srcSet(), built from the same policy the
// CloudFront Function and the Python origin read (origin_handler/policy.json, copied into
// this package as policy.mjs when it is packed; a test fails when the copy drifts).
//
// Every URL is in normalized public form: `/<key>?w=&h=&fit=&q=&format=` with width and
// height already snapped up to the allow-list, a numeric quality snapped to the nearest
// allowed one (halfway: the higher), defaults left out (q=<default>, fit=<default>,
// format=auto, and q=auto for the default auto level). One variant = one URL, so the
// browser cache and the CDN cache agree. Format is left to the edge (Accept) unless asked for.
//
// Image info: infoUrl() → `/<key>?info` (the original's JSON info document: upright size,
// ThumbHash, blurDataURL, …) and getImageInfo(), which fetches and checks it.
//
// The policy's rules (snapping, the key's encoding, the edge's refusals) are in rules.mjs,
// shared with the signer ('image-origin/sign', server only), which this module never imports.
import { fetchInfo, ImageInfoError } from './info.mjs';
import defaultPolicy from './policy.mjs';
import { encodeSegment, ImageUrlError, rulesOf, snapUp } from './rules.mjs';

export { ImageInfoError, ImageUrlError };
export const policy = defaultPolicy;

const ABSOLUTE = /^(?:[a-z][a-z0-9+.-]*:)?\/\//i;
// Inline and in-memory images: there is no original on the origin to resize.
const INLINE = /^\s*(?:data|blob):/i;

/**
 * Build imageUrl / srcSet for one CDN.
 * @param {{ baseUrl: string, policy?: object }} config
 *   baseUrl (required): origin (and optional path prefix) put in front of path srcs, e.g.
 *   'https://cdn.example.com'. Pass '' explicitly only when the pages and the images are
 *   served from one origin (root-relative URLs). Absolute srcs keep their own origin.
 */
export function createImageUrls({ baseUrl, policy: p = defaultPolicy } = {}) {
  const rules = rulesOf(p);
  const { widths, heights } = rules;
  const base = baseOf(baseUrl);

  // src is a URL reference like an <img src>: spaces and non-ASCII get encoded, existing
  // %XX escapes are kept, ?query and #fragment are dropped (the edge ignores them).
  // WHATWG URL parsing turns "\\" into "/" and resolves "." and ".." segments, which
  // would quietly address another image; the edge answers those paths with a 400.
  function checkRawPath(src) {
    let path = src.split(/[?#]/)[0];
    if (ABSOLUTE.test(path)) path = path.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/\\]*/i, '');
    if (path.includes('\\')) throw new ImageUrlError('backslash in key');
    for (const segment of path.split('/')) {
      let decoded = segment;
      try {
        decoded = decodeURIComponent(segment);
      } catch {
        // left to the percent-encoding check below
      }
      if (decoded === '.' || decoded === '..') throw new ImageUrlError('dot segment in key');
    }
  }

  function location(src) {
    if (typeof src !== 'string' || src === '') throw new ImageUrlError('missing image key');
    if (INLINE.test(src)) {
      throw new ImageUrlError(
        'data: and blob: URLs are not images on the origin: use them as the src directly',
      );
    }
    checkRawPath(src);
    let origin;
    let pathname;
    if (ABSOLUTE.test(src)) {
      const url = new URL(src, base ?? 'https://invalid.');
      ({ origin, pathname } = url);
    } else {
      const path = new URL(`/${src.replace(/^\/+/, '')}`, 'https://invalid.').pathname;
      origin = base ? base.origin : '';
      pathname = base ? base.pathname.replace(/\/+$/, '') + path : path;
    }
    let key;
    try {
      key = decodeURIComponent(pathname.slice(1));
    } catch {
      throw new ImageUrlError('invalid percent-encoding in path');
    }
    rules.validateKey(key);
    return origin + '/' + key.split('/').map(encodeSegment).join('/');
  }

  function size(name, value, allowed) {
    if (value === undefined || value === null) return null;
    // heights: [] is a width-only policy; the edge answers any h with this 400.
    if (!allowed.length) throw new ImageUrlError(`invalid ${name}: this policy has no heights`);
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new ImageUrlError(`invalid ${name}: expected a whole number from 1`);
    }
    return snapUp(Math.ceil(value), allowed);
  }

  /** The q= value to write ('auto', 'auto:eco', 90), or null for the default quality. */
  function quality(value) {
    if (value === undefined || value === null) return null;
    if (typeof value === 'string' && value.toLowerCase().startsWith('auto')) {
      const level = rules.autoLevel(value);
      return level === rules.autoDefault ? 'auto' : `auto:${level}`;
    }
    if (typeof value !== 'number' || !rules.qualityInRange(value)) throw rules.qualityError();
    const snapped = rules.snapQuality(value);
    return snapped === p.quality.default ? null : snapped;
  }

  /** Public URL of one variant: imageUrl('/photos/cat.jpg', { width: 600 }) → '/photos/cat.jpg?w=640'. */
  function imageUrl(src, { width, height, quality: qual, format: fmt, fit } = {}) {
    const w = size('w', width, widths);
    const h = size('h', height, heights);
    const qv = quality(qual);
    const f = rules.format(fmt);
    const fv = rules.fit(fit);
    const params = [];
    if (w !== null) params.push(`w=${w}`);
    if (h !== null) params.push(`h=${h}`);
    if (w !== null && h !== null && fv !== null && fv !== p.default_fit) params.push(`fit=${fv}`);
    if (qv !== null) params.push(`q=${qv}`);
    if (f !== null) params.push(`format=${f}`);
    const url = location(src);
    return params.length ? `${url}?${params.join('&')}` : url;
  }

  /** srcset candidates at policy widths only: each requested width snapped up, deduplicated. */
  function srcSet(src, { widths: wanted = widths, quality: qual, format: fmt } = {}) {
    const chosen = [...new Set(wanted.map((w) => size('w', w, widths)))].sort((a, b) => a - b);
    if (!chosen.length) throw new ImageUrlError('srcSet needs at least one width');
    return chosen.map((w) => `${imageUrl(src, { width: w, quality: qual, format: fmt })} ${w}w`).join(', ');
  }

  /** URL of the original's info document: infoUrl('/photos/cat.jpg') → '/photos/cat.jpg?info'. */
  function infoUrl(src) {
    return `${location(src)}?info`;
  }

  /** Fetch and check the info document of src (server side or at build time). */
  async function getImageInfo(src, init) {
    return fetchInfo(infoUrl(src), init);
  }

  return { imageUrl, srcSet, infoUrl, getImageInfo, widths, heights };
}

/**
 * Fetch the info document of an absolute src (https://cdn.example.com/photos/cat.jpg);
 * for path srcs use createImageUrls({ baseUrl }).getImageInfo.
 */
export async function getImageInfo(src, init) {
  return fetchInfo(defaults.infoUrl(src), init);
}

// A missing base URL would silently give root-relative URLs that the site's own server
// answers with 404; an unparsable one would fail on the first image, far from its cause.
function baseOf(baseUrl) {
  if (baseUrl === '') return null;
  if (typeof baseUrl !== 'string') {
    throw new ImageUrlError(
      `createImageUrls: baseUrl is ${baseUrl == null ? 'missing' : `a ${typeof baseUrl}`}: ` +
        "give the CDN origin, e.g. 'https://cdn.example.com' ('' only when the pages and " +
        'the images share one origin)',
    );
  }
  let base;
  try {
    base = new URL(baseUrl);
  } catch {
    base = null;
  }
  if (!base || (base.protocol !== 'https:' && base.protocol !== 'http:')) {
    throw new ImageUrlError(`baseUrl must be an absolute http(s) URL such as https://cdn.example.com, got ${JSON.stringify(baseUrl)}`);
  }
  if (base.search || base.hash) {
    throw new ImageUrlError('baseUrl must not have a query or fragment');
  }
  return base;
}

// Root-relative URLs (baseUrl ''), for pages served from the same origin as the images.
const defaults = createImageUrls({ baseUrl: '' });
export const { imageUrl, srcSet, infoUrl, widths } = defaults;
