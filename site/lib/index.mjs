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
import defaultPolicy from './policy.mjs';

export const policy = defaultPolicy;

/** Thrown for a src or option the edge would answer with 400; the message is the edge's. */
export class ImageUrlError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ImageUrlError';
  }
}

/**
 * Thrown by getImageInfo() when the info document cannot be had: the origin answered an
 * error (status and its one-line message), something that is not an info document, or
 * no answer at all (status 0, the network error as cause).
 */
export class ImageInfoError extends Error {
  constructor(message, { status, url, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ImageInfoError';
    this.status = status;
    this.url = url;
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
  const qualities = [...p.qualities].sort((a, b) => a - b);
  const q = p.quality;
  // q=auto levels: the policy's (quality.auto, quality.auto_default), else origin_handler/policy.py's.
  const autoLevels = q.auto ?? ['high', 'good', 'eco'];
  const autoDefault = q.auto_default ?? 'good';
  const autoChoices = ['auto', ...autoLevels.map((n) => `auto:${n}`)].join(', ');
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
      const v = value.toLowerCase();
      const level = v === 'auto' ? autoDefault : v.startsWith('auto:') ? v.slice(5) : null;
      if (!autoLevels.includes(level)) throw new ImageUrlError(`invalid q: expected one of ${autoChoices}`);
      return level === autoDefault ? 'auto' : `auto:${level}`;
    }
    if (typeof value !== 'number' || !(value >= q.min && value <= q.max)) {
      throw new ImageUrlError(`invalid q: expected a whole number from ${q.min} to ${q.max}`);
    }
    // Nearest allowed quality; qualities ascend, so `<=` gives a tie to the higher one.
    const snapped = qualities.reduce((best, c) => (Math.abs(c - value) <= Math.abs(best - value) ? c : best));
    return snapped === q.default ? null : snapped;
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

const INFO_FIELDS = {
  width: (v) => Number.isInteger(v) && v > 0,
  height: (v) => Number.isInteger(v) && v > 0,
  format: (v) => typeof v === 'string' && v !== '',
  bytes: (v) => Number.isInteger(v) && v >= 0,
  alpha: (v) => typeof v === 'boolean',
  animated: (v) => typeof v === 'boolean',
  frames: (v) => Number.isInteger(v) && v > 0,
  dominantColor: (v) => typeof v === 'string' && /^#[0-9a-f]{6}$/i.test(v),
  thumbHash: (v) => typeof v === 'string' && /^[A-Za-z0-9+/]+={0,2}$/.test(v),
  blurDataURL: (v) => typeof v === 'string' && /^data:image\/[a-z]+;base64,[A-Za-z0-9+/]+={0,2}$/.test(v),
};

/** The origin's error bodies are one line ("404 no such original"); bound anything else. */
function firstLine(text) {
  const line = text.trim().split(/\r?\n/)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

async function fetchInfo(url, init = {}) {
  const { fetch: injected, ...request } = init ?? {};
  // Looked up per call, not at import: Next.js patches the global fetch (its cache, and
  // `next: { revalidate }` in init) after modules are loaded.
  const fetcher = injected ?? globalThis.fetch;
  if (typeof fetcher !== 'function') {
    throw new ImageInfoError('getImageInfo: no fetch: pass { fetch } or run on Node.js 18+', { status: 0, url });
  }
  if (!ABSOLUTE.test(url)) {
    throw new ImageInfoError(
      `getImageInfo: ${url} is root-relative: use createImageUrls({ baseUrl: 'https://cdn.example.com' }).getImageInfo ` +
        'or an absolute src (on the server there is no page to resolve it against)',
      { status: 0, url },
    );
  }
  let response;
  try {
    response = await fetcher(url, request);
  } catch (e) {
    throw new ImageInfoError(`image info ${url}: no answer: ${e?.cause?.code ?? e?.message ?? e}`, { status: 0, url, cause: e });
  }
  let body;
  try {
    body = await response.text();
  } catch (e) {
    throw new ImageInfoError(`image info ${url}: ${response.status}, answer cut short: ${e?.message ?? e}`, { status: response.status, url, cause: e });
  }
  if (response.status !== 200) {
    const said = firstLine(body) || response.statusText || '';
    throw new ImageInfoError(`image info ${url}: ${said.startsWith(String(response.status)) ? said : `${response.status} ${said}`.trim()}`, {
      status: response.status,
      url,
    });
  }
  let doc;
  try {
    doc = JSON.parse(body);
  } catch {
    doc = undefined;
  }
  const type = response.headers?.get?.('content-type') ?? 'no content type';
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ImageInfoError(`image info ${url}: not an info document (200, ${type}: ${JSON.stringify(firstLine(body).slice(0, 60))})`, {
      status: 200,
      url,
    });
  }
  const info = {};
  for (const [field, valid] of Object.entries(INFO_FIELDS)) {
    if (!valid(doc[field])) {
      throw new ImageInfoError(`image info ${url}: not an info document: ${field} is ${JSON.stringify(doc[field]) ?? 'missing'}`, {
        status: 200,
        url,
      });
    }
    info[field] = doc[field];
  }
  return info;
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
