// The info document of an original (`/<key>?info`): fetched and checked, for the URL
// builder (index.mjs) and the signer (sign.mjs), which fetches signed info URLs.
// Internal: not in the exports map.

const ABSOLUTE = /^(?:[a-z][a-z0-9+.-]*:)?\/\//i;

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

/** Fetch url (an info URL) and return its ten checked fields. */
export async function fetchInfo(url, init = {}) {
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
