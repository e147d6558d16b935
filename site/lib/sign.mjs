// Signed URLs, on the server: `s=<key id>.<mac>` appended to a public or canonical image URL,
// the mac the unpadded base64url HMAC-SHA256 of the variant's canonical URI (a negotiated
// format written `f=auto`) under the key's secret. The contract is docs/signed-urls.md, the
// reference origin_handler/origin/signing.py; tests/fixtures/signing_vectors.json holds the
// two (and the edge) equal.
//
// Server only: it imports node:crypto, and a signer shipped to a browser would hand its
// secret to every visitor. The main entry ('image-origin') never imports this module.
import { createHmac, randomBytes } from 'node:crypto';

import { signedTextOf } from './canonical.mjs';
import { createImageUrls } from './index.mjs';
import { fetchInfo } from './info.mjs';
import defaultPolicy from './policy.mjs';
import { ImageUrlError, rulesOf } from './rules.mjs';

const PARAM = 's';
// settings.KEY_ID and MIN_SECRET_CHARS: what the origin's SIGNING_KEYS and the edge's
// KeyValueStore accept, so a signer never makes URLs no key can check.
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const MIN_SECRET_CHARS = 32;
// An absolute URL's scheme and host. Not `//host/…`: the edge reads a path starting `//` as
// a path (an empty segment, a 400), and so does the reference signer.
const SCHEME_HOST = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i;
const DEFAULT_RULES = rulesOf(defaultPolicy);

/** A fresh 256-bit secret, base64url (43 characters): signing.new_secret. */
export function newSecret() {
  return randomBytes(32).toString('base64url');
}

/** Unpadded base64url HMAC-SHA256 of text under secret, both as UTF-8. */
function mac(text, secret) {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(text, 'utf8').digest('base64url');
}

/**
 * [scheme://host, raw path, raw query, #fragment]. The fragment never reaches the
 * edge, so it is not signed, but it is the page's (an anchor, a viewer's state): kept.
 */
function split(url) {
  const hash = url.indexOf('#');
  const whole = hash < 0 ? url : url.slice(0, hash);
  const fragment = hash < 0 ? '' : url.slice(hash);
  const prefix = SCHEME_HOST.exec(whole)?.[0] ?? '';
  const rest = whole.slice(prefix.length);
  const at = rest.indexOf('?');
  return at < 0 ? [prefix, rest, '', fragment] : [prefix, rest.slice(0, at), rest.slice(at + 1), fragment];
}

/** The URL's parts, its query without any `s`, and the text a signature covers. */
function read(rules, url) {
  if (typeof url !== 'string') throw new ImageUrlError(`image-origin/sign: the URL must be a string, got ${url === null ? 'null' : typeof url}`);
  const [prefix, path, query, fragment] = split(url);
  const kept = query.split('&').filter((piece) => piece && piece.split('=', 1)[0] !== PARAM);
  try {
    // A lone surrogate would reach the edge as U+FFFD, another key than the one signed.
    if (!url.isWellFormed()) throw new ImageUrlError('not a well-formed string (lone surrogate)');
    return { prefix, path, kept, fragment, text: signedTextOf(rules, path, kept.join('&')) };
  } catch (e) {
    if (!(e instanceof ImageUrlError)) throw e;
    // The edge's message, and which URL: an SSG build signs hundreds of them.
    throw new ImageUrlError(`image-origin/sign: cannot sign ${url}: ${e.message}`);
  }
}

/** The key as the edge's store and SIGNING_KEYS accept it, or an ImageUrlError. */
function checkKey(keyId, secret) {
  if (typeof keyId !== 'string' || !KEY_ID.test(keyId)) {
    throw new ImageUrlError(
      `image-origin/sign: key id ${JSON.stringify(keyId) ?? String(keyId)} must be 1-32 characters of A-Z a-z 0-9 _ -`,
    );
  }
  // Never echo the secret: error messages end up in build logs.
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_CHARS) {
    throw new ImageUrlError(
      `image-origin/sign: the secret of key ${keyId} must be a string of at least ${MIN_SECRET_CHARS} ` +
        `characters (${typeof secret === 'string' ? `got ${secret.length}` : `got a ${typeof secret}`}; newSecret() makes one)`,
    );
  }
}

/** url with `s=<key id>.<mac>` as the last query parameter, the fragment after it. */
function sign(rules, keyId, secret, url) {
  const { prefix, path, kept, fragment, text } = read(rules, url);
  kept.push(`${PARAM}=${keyId}.${mac(text, secret)}`);
  return `${prefix}${path}?${kept.join('&')}${fragment}`;
}

/**
 * What a URL's signature covers: signedText('/photos/cat.jpg?w=600') →
 * '/photos/cat.jpg/w=640,q=75,f=auto'. Throws ImageUrlError for a URL the edge would refuse.
 */
export function signedText(url, { policy } = {}) {
  return read(policy ? rulesOf(policy) : DEFAULT_RULES, url).text;
}

/** The URL with its `s` appended to the query (an `s` already there is replaced). */
export function signUrl(url, { keyId, secret, policy } = {}) {
  checkKey(keyId, secret);
  return sign(policy ? rulesOf(policy) : DEFAULT_RULES, keyId, secret, url);
}

/**
 * A signer for one key: signer(url) → signed URL; signer.imageUrls({ baseUrl }) is the URL
 * builder (createImageUrls) with every URL it makes signed, getImageInfo included.
 * @param {{ keyId: string, secret: string, policy?: object }} config
 */
export function createSigner({ keyId, secret, policy = defaultPolicy } = {}) {
  checkKey(keyId, secret);
  const rules = rulesOf(policy);
  const signer = (url) => sign(rules, keyId, secret, url);

  function imageUrls({ baseUrl } = {}) {
    const urls = createImageUrls({ baseUrl, policy });
    return {
      imageUrl: (src, options) => signer(urls.imageUrl(src, options)),
      // The builder's URLs never hold ', ' (a space in a key is %20): the candidates split cleanly.
      srcSet: (src, options) =>
        urls
          .srcSet(src, options)
          .split(', ')
          .map((candidate) => {
            const at = candidate.lastIndexOf(' ');
            return `${signer(candidate.slice(0, at))}${candidate.slice(at)}`;
          })
          .join(', '),
      infoUrl: (src) => signer(urls.infoUrl(src)),
      // With signing required the info document needs its signature too.
      getImageInfo: async (src, init) => fetchInfo(signer(urls.infoUrl(src)), init),
      widths: urls.widths,
      heights: urls.heights,
    };
  }

  // The secret stays in this closure: the signer's own properties never expose it.
  return Object.freeze(
    Object.assign(signer, {
      keyId,
      signedText: (url) => read(rules, url).text,
      imageUrls,
    }),
  );
}
