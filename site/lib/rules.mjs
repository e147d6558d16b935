// The policy's rules, shared by the URL builder (index.mjs) and the signer (sign.mjs): how a
// key is encoded and escaped, what widths, heights and qualities snap to, which formats and
// fits exist, and what the edge refuses, with the edge's messages (origin_handler/origin/
// request.py and variants.py, cloudfront/viewer-request.js.tftpl). Internal: not in the
// exports map, so it can change with its two users.

/** Thrown for a src or option the edge would answer with 400; the message is the edge's. */
export class ImageUrlError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ImageUrlError';
  }
}

const CONTROL = /[\x00-\x1f\x7f]/;
const byNumber = (a, b) => a - b;

/** Python quote(seg, safe=''): only RFC 3986 unreserved characters stay literal. */
export function encodeSegment(segment) {
  return encodeURIComponent(segment).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * variants.escape_key: the key in the canonical URI, `/seg/seg` percent-encoded with `~`
 * for `%` (and `~` itself as `~7E`), because CloudFront's SigV4 for the origin breaks on `%`.
 */
export function escapeKey(key) {
  return `/${key
    .split('/')
    .map((s) => encodeSegment(s).replace(/~/g, '~7E').replace(/%/g, '~'))
    .join('/')}`;
}

/** Smallest allowed value ≥ value; the largest one when value is above them all. */
export function snapUp(value, allowed) {
  return allowed.find((candidate) => candidate >= value) ?? allowed[allowed.length - 1];
}

/** The rules of one policy (the shape of origin_handler/policy.json). */
export function rulesOf(p) {
  const q = p.quality;
  // q=auto levels: the policy's (quality.auto, quality.auto_default), else origin_handler/policy.py's.
  const autoLevels = q.auto ?? ['high', 'good', 'eco'];
  const autoDefault = q.auto_default ?? 'good';
  const autoChoices = ['auto', ...autoLevels.map((n) => `auto:${n}`)].join(', ');
  const maxKeyBytes = p.max_key_bytes ?? 1024;
  const aliases = p.format_aliases ?? {};
  const qualities = [...p.qualities].sort(byNumber);

  return {
    policy: p,
    widths: [...p.widths].sort(byNumber),
    heights: [...p.heights].sort(byNumber),
    qualities,
    autoLevels,
    autoDefault,

    /** variants.validate_key: the key itself, or the edge's 400 for it. */
    validateKey(key) {
      if (!key) throw new ImageUrlError('missing image key');
      // The edge bounds the escaped form (the derived object key), not the raw one.
      if (escapeKey(key).length - 1 > maxKeyBytes) {
        throw new ImageUrlError(`escaped key longer than ${maxKeyBytes} bytes`);
      }
      if (CONTROL.test(key)) throw new ImageUrlError('control character in key');
      if (key.includes('\\')) throw new ImageUrlError('backslash in key');
      for (const segment of key.split('/')) {
        if (segment === '') throw new ImageUrlError('empty path segment in key');
        if (segment === '.' || segment === '..') throw new ImageUrlError('dot segment in key');
      }
      return key;
    },

    /** Nearest allowed quality; qualities ascend, so `<=` gives a tie to the higher one. */
    snapQuality(value) {
      return qualities.reduce((best, c) => (Math.abs(c - value) <= Math.abs(best - value) ? c : best));
    },

    /** The level of 'auto' / 'auto:<level>' (any case), or the edge's 400. */
    autoLevel(value) {
      const v = value.toLowerCase();
      const level = v === 'auto' ? autoDefault : v.startsWith('auto:') ? v.slice(5) : null;
      if (!autoLevels.includes(level)) throw new ImageUrlError(`invalid q: expected one of ${autoChoices}`);
      return level;
    },

    /** Whether a numeric quality may be written (it is snapped afterwards). */
    qualityInRange(value) {
      return value >= q.min && value <= q.max;
    },

    /** The edge's 400 for a quality that is not a number in range. */
    qualityError() {
      return new ImageUrlError(`invalid q: expected a whole number from ${q.min} to ${q.max}`);
    },

    /** A fixed format (aliases resolved), or null: negotiated from Accept at the edge. */
    format(value) {
      if (value === undefined || value === null || value === '') return null;
      let f = String(value).toLowerCase();
      if (Object.hasOwn(aliases, f)) f = aliases[f];
      if (p.formats.includes(f)) return f;
      if (f === 'auto') return null;
      throw new ImageUrlError(`invalid format: expected one of ${[...p.formats, 'auto'].join(', ')}`);
    },

    /** A policy fit, or null when none is given. */
    fit(value) {
      if (value === undefined || value === null || value === '') return null;
      const f = String(value).toLowerCase();
      if (!p.fits.includes(f)) throw new ImageUrlError(`invalid fit: expected one of ${p.fits.join(', ')}`);
      return f;
    },
  };
}
