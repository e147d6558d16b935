// A URL's path and query read the way the edge reads them (origin_handler/origin/request.py
// `parse`, ported to the CloudFront Function in cloudfront/viewer-request.js.tftpl): the
// public form (`/photos/cat.jpg?w=600`) or the canonical one (`/photos/cat.jpg/w=640,q=75,
// f=auto-avif`) → the text a signature covers, the variant's canonical URI with a negotiated
// format written `f=auto` (the edge picks AVIF or WebP from Accept after the URL was signed).
// As strict as the edge, with its messages: a URL it would refuse is never signed.
// Internal: used by sign.mjs.
import { escapeKey, ImageUrlError, snapUp } from './rules.mjs';

const KNOWN = ['w', 'h', 'q', 'fit', 'format', 'info'];
// No `m` flag: `$` is the end of the string, never a line end.
const OPS_LIKE = /^(?:w|h|fit|q|f)=[a-z0-9-]+(?:,(?:w|h|fit|q|f)=[a-z0-9-]+)*$/;
const DIGITS = /^[0-9]{1,6}$/;
const NUMBER = /^[0-9]+$/;
const BAD_PERCENT = /%(?![0-9A-Fa-f]{2})/;
const BAD_TILDE = /~(?![0-9A-Fa-f]{2})/;
const INFO_OPS = 'f=info';
const AUTO = 'auto-';
const ORIGINAL_FAMILY = 'orig';

function bad(message) {
  throw new ImageUrlError(message);
}

/** request.percent_decode: a stray `%` or bytes that are not UTF-8 are the error given. */
function percentDecode(raw, message) {
  if (BAD_PERCENT.test(raw)) bad(message);
  try {
    return decodeURIComponent(raw);
  } catch {
    return bad(message);
  }
}

function decodePath(raw) {
  if (!raw.startsWith('/')) bad('invalid path');
  return percentDecode(raw.slice(1), 'invalid percent-encoding in path');
}

/** variants.unescape_key: `~XX` back to bytes; a `%` left by percent-decoding stays itself. */
function unescapeKey(escaped) {
  if (BAD_TILDE.test(escaped)) bad('invalid ~ escape in path');
  return percentDecode(escaped.replace(/%/g, '%25').replace(/~/g, '%'), 'invalid ~ escape in path');
}

/** request.parse_query: the known parameters, decoded; unknown ones dropped, repeats a 400. */
function parseQuery(raw) {
  const params = new Map();
  for (const piece of raw.split('&')) {
    if (!piece) continue;
    const eq = piece.indexOf('=');
    const name = eq < 0 ? piece : piece.slice(0, eq);
    if (!KNOWN.includes(name)) continue;
    if (params.has(name)) bad(`repeated parameter: ${name}`);
    params.set(name, percentDecode(eq < 0 ? '' : piece.slice(eq + 1), `invalid ${name}: bad percent-encoding`));
  }
  return params;
}

function positiveInt(name, value) {
  if (!DIGITS.test(value) || Number(value) < 1) bad(`invalid ${name}: expected a whole number from 1`);
  return Number(value);
}

/** Variant.ops: `w=..,h=..,fit=..,q=..,f=..`, the absent ones left out. */
function opsOf({ w, h, fit, q, f }) {
  const parts = [];
  if (w !== null) parts.push(`w=${w}`);
  if (h !== null) parts.push(`h=${h}`);
  if (fit !== null) parts.push(`fit=${fit}`);
  parts.push(`q=${q}`, `f=${f}`);
  return parts.join(',');
}

/** request.from_public: parameters snapped to the policy, in the edge's order of checks. */
function fromPublic(rules, key, params) {
  if (params.has('info')) {
    // A flag: `?info`; the image parameters do not apply to it and are not checked.
    if (params.get('info')) bad('invalid info: takes no value');
    return `${escapeKey(rules.validateKey(key))}/${INFO_OPS}`;
  }
  const { policy } = rules;
  let w = null;
  let h = null;
  if (params.get('w')) w = snapUp(positiveInt('w', params.get('w')), rules.widths);
  if (params.get('h')) {
    // A width-only policy: an h would be silently dropped otherwise.
    if (!rules.heights.length) bad('invalid h: this policy has no heights');
    h = snapUp(positiveInt('h', params.get('h')), rules.heights);
  }
  let q = policy.quality.default;
  const rawQ = params.get('q') ?? '';
  if (rawQ.toLowerCase().startsWith('auto')) {
    q = `${AUTO}${rules.autoLevel(rawQ)}`;
  } else if (rawQ) {
    if (!DIGITS.test(rawQ) || !rules.qualityInRange(Number(rawQ))) throw rules.qualityError();
    q = rules.snapQuality(Number(rawQ));
  }
  const fit = rules.fit(params.get('fit'));
  const f = rules.format(params.get('format')) ?? 'auto';
  rules.validateKey(key);
  const sized = w !== null && h !== null;
  return `${escapeKey(key)}/${opsOf({ w, h, fit: sized ? (fit ?? policy.default_fit) : null, q, f })}`;
}

/** variants.from_canonical: the ops must re-serialize to exactly themselves and be admitted. */
function fromCanonical(rules, key, ops) {
  rules.validateKey(key); // a key error wins over an ops error, as on the edge
  if (ops === INFO_OPS) return `${escapeKey(key)}/${INFO_OPS}`;
  // OPS_LIKE made every token name=value; a repeated name fails the re-serialization.
  const v = new Map(ops.split(',').map((t) => [t.slice(0, t.indexOf('=')), t.slice(t.indexOf('=') + 1)]));
  const notCanonical = () => bad('not a canonical variant');
  const num = (name) => (!v.has(name) ? null : NUMBER.test(v.get(name)) ? Number(v.get(name)) : notCanonical());
  if (!v.has('q')) notCanonical();
  const rawQ = v.get('q');
  const level = rawQ.startsWith(AUTO) ? rawQ.slice(AUTO.length) : null;
  const rawF = v.get('f') ?? '';
  const negotiated = rawF.startsWith(AUTO);
  const format = negotiated ? rawF.slice(AUTO.length) : rawF;
  const variant = { w: num('w'), h: num('h'), fit: v.get('fit') ?? null, q: level === null ? num('q') : rawQ, f: rawF };
  const { policy } = rules;
  const admitted =
    opsOf(variant) === ops &&
    (negotiated ? [...policy.negotiated, ORIGINAL_FAMILY] : policy.formats).includes(format) &&
    (variant.w === null || rules.widths.includes(variant.w)) &&
    (variant.h === null || rules.heights.includes(variant.h)) &&
    (variant.fit === null || policy.fits.includes(variant.fit)) &&
    (variant.fit !== null) === (variant.w !== null && variant.h !== null) &&
    (level === null ? rules.qualities.includes(variant.q) : rules.autoLevels.includes(level));
  if (!admitted) notCanonical();
  return `${escapeKey(key)}/${negotiated ? opsOf({ ...variant, f: 'auto' }) : ops}`;
}

/**
 * signing.signed_text(parse(path, query)): what a signature covers, for a raw
 * (percent-encoded) path and a raw query without `s`; the edge's 400 as an ImageUrlError.
 */
export function signedTextOf(rules, rawPath, rawQuery) {
  const slash = rawPath.lastIndexOf('/');
  const head = slash < 0 ? '' : rawPath.slice(0, slash);
  const last = rawPath.slice(slash + 1);
  if (head && OPS_LIKE.test(last)) return fromCanonical(rules, unescapeKey(decodePath(head)), last);
  return fromPublic(rules, decodePath(rawPath), parseQuery(rawQuery));
}
