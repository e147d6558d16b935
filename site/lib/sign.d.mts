// Types for sign.mjs ('image-origin/sign'): server only (Node.js, it imports node:crypto).
import type { ImagePolicy, ImageUrls } from './index.mjs';

export interface SigningKey {
  /** The key's id, 1–32 characters of A-Z a-z 0-9 _ - (the edge's store: `signing-key-<id>`). */
  keyId: string;
  /** At least 32 characters, used as UTF-8 bytes; keep it in server-side configuration only. */
  secret: string;
}

export interface SignOptions {
  /** The policy the edge runs; defaults to the one shipped in this package. */
  policy?: ImagePolicy;
}

/** createSigner()'s and signUrl()'s configuration: the key, and the policy if not the shipped one. */
export type SignerConfig = SigningKey & SignOptions;

/** createSigner()'s result: call it with a URL to sign it. */
export interface Signer {
  /** The URL with `s=<key id>.<mac>` appended to its query (an `s` already there is replaced). */
  (url: string): string;
  readonly keyId: string;
  /** What this URL's signature covers, e.g. '/photos/cat.jpg/w=640,q=75,f=auto'. */
  signedText(url: string): string;
  /**
   * The URL builder (createImageUrls) for one CDN with every URL signed: imageUrl, each
   * srcSet candidate, infoUrl, and the info URL getImageInfo fetches.
   */
  imageUrls(config: { baseUrl: string }): ImageUrls;
}

/**
 * What a URL's signature covers: its variant's canonical URI, a negotiated format written
 * `f=auto`: signedText('/photos/cat.jpg?w=600') → '/photos/cat.jpg/w=640,q=75,f=auto'.
 * Throws ImageUrlError (the edge's message) for a URL the edge would refuse.
 */
export function signedText(url: string, options?: SignOptions): string;

/**
 * A public or canonical URL (root-relative or absolute) with its signature appended:
 * signUrl('/photos/cat.jpg?w=640', { keyId: 'k1', secret }) → '/photos/cat.jpg?w=640&s=k1.…'.
 * Throws ImageUrlError for a bad key id, a short secret or a URL the edge would refuse.
 */
export function signUrl(url: string, options: SignerConfig): string;

/** A signer for one key; throws ImageUrlError for a bad key id or a short secret. */
export function createSigner(config: SignerConfig): Signer;

/** A fresh 256-bit secret, base64url (43 characters), like `image-origin sign --new-secret`. */
export function newSecret(): string;
