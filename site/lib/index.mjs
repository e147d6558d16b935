// Image URLs for the site: imageUrl() and srcSet(), built from the same policy the
// CloudFront Function and the Python origin read (origin_handler/policy.json, copied into
// this package as policy.mjs when it is packed; a test fails when the copy drifts).
//
// Every URL is in normalized public form: `/<key>?w=&h=&fit=&q=&format=` with width and
// height already snapped up to the allow-list, quality snapped to the step, defaults left
// out (q=<default>, fit=<default>, format=auto). One variant = one URL, so the browser
// cache and the CDN cache agree. Format is left to the edge (Accept) unless asked for.
import defaultPolicy from './policy.mjs';

export const policy = defaultPolicy;

/** Thrown for a src or option the edge would answer with 400; the message is the edge's. */
export class ImageUrlError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ImageUrlError';
  }
}

const ABSOLUTE = /^(?:[a-z][a-z0-9+.-]*:)?\/\//i;
// Inline and in-memory images: there is no original on the origin to resize.
const INLINE = /^\s*(?:data|blob):/i;
const CONTROL = /[\x00-\x1f\x7f]/;

// Python quote(seg, safe=''): only RFC 3986 unreserved characters stay literal.
function encodeSegment(segment) {
  return encodeURIComponent(segment).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function snapUp(value, allowed) {
  return allowed.find((candidate) => candidate >= value) ?? allowed[allowed.length - 1];
}

/**
 * Build imageUrl / srcSet for one CDN.
 * @param {{ baseUrl: string, policy?: object }} config
 *   baseUrl (required): origin (and optional path prefix) put in front of path srcs, e.g.
 *   'https://cdn.example.com'. Pass '' explicitly only when the pages and the images are
 *   served from one origin (root-relative URLs). Absolute srcs keep their own origin.
 */
export function createImageUrls({ baseUrl, policy: p = defaultPolicy } = {}) {
  const widths = [...p.widths].sort((a, b) => a - b);
  const heights = [...p.heights].sort((a, b) => a - b);
  const q = p.quality;
  const maxKeyBytes = p.max_key_bytes ?? 1024;
  const aliases = p.format_aliases ?? {};
  const base = baseOf(baseUrl);

  function validateKey(key) {
    if (!key) throw new ImageUrlError('missing image key');
    // The edge bounds the key's ~XX-escaped form (the derived object key), whose length is
    // the percent-encoded one with each '~' counted as an escape too.
    if (key.split('/').map(encodeSegment).join('/').replace(/~/g, '~7E').length > maxKeyBytes) {
      throw new ImageUrlError(`escaped key longer than ${maxKeyBytes} bytes`);
    }
    if (CONTROL.test(key)) throw new ImageUrlError('control character in key');
    if (key.includes('\\')) throw new ImageUrlError('backslash in key');
    for (const segment of key.split('/')) {
      if (segment === '') throw new ImageUrlError('empty path segment in key');
      if (segment === '.' || segment === '..') throw new ImageUrlError('dot segment in key');
    }
  }

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
    validateKey(key);
    return origin + '/' + key.split('/').map(encodeSegment).join('/');
  }

  function size(name, value, allowed) {
    if (value === undefined || value === null) return null;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new ImageUrlError(`invalid ${name}: expected a whole number from 1`);
    }
    return snapUp(Math.ceil(value), allowed);
  }

  function quality(value) {
    if (value === undefined || value === null) return q.default;
    if (typeof value !== 'number' || !(value >= q.min && value <= q.max)) {
      throw new ImageUrlError(`invalid q: expected a whole number from ${q.min} to ${q.max}`);
    }
    return Math.min(q.max, Math.max(q.step, Math.ceil(value / q.step) * q.step));
  }

  function format(value) {
    if (value === undefined || value === null || value === '') return null;
    let f = String(value).toLowerCase();
    if (Object.hasOwn(aliases, f)) f = aliases[f];
    if (p.formats.includes(f)) return f;
    if (f === 'auto') return null;
    throw new ImageUrlError(`invalid format: expected one of ${[...p.formats, 'auto'].join(', ')}`);
  }

  function fitOf(value) {
    if (value === undefined || value === null || value === '') return null;
    const f = String(value).toLowerCase();
    if (!p.fits.includes(f)) {
      throw new ImageUrlError(`invalid fit: expected one of ${p.fits.join(', ')}`);
    }
    return f;
  }

  /** Public URL of one variant: imageUrl('/photos/cat.jpg', { width: 600 }) → '/photos/cat.jpg?w=640'. */
  function imageUrl(src, { width, height, quality: qual, format: fmt, fit } = {}) {
    const w = size('w', width, widths);
    const h = size('h', height, heights);
    const qv = quality(qual);
    const f = format(fmt);
    const fv = fitOf(fit);
    const params = [];
    if (w !== null) params.push(`w=${w}`);
    if (h !== null) params.push(`h=${h}`);
    if (w !== null && h !== null && fv !== null && fv !== p.default_fit) params.push(`fit=${fv}`);
    if (qv !== q.default) params.push(`q=${qv}`);
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

  return { imageUrl, srcSet, widths, heights };
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
export const { imageUrl, srcSet, widths } = defaults;
