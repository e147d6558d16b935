// Types for index.mjs. The unions below are derived from the policy shipped in this
// package (policy.d.mts, generated from origin_handler/policy.json); a custom policy passed
// to createImageUrls() is checked at run time, not by these types.
import type shippedPolicy from './policy.mjs';

type Shipped = typeof shippedPolicy;

/** A width of the policy: the only widths the origin serves (others are snapped up). */
export type PolicyWidth = Shipped['widths'][number];
/** `format=` values: the policy formats, their aliases (`jpg`) and `auto`. */
export type ImageFormat = Shipped['formats'][number] | keyof Shipped['format_aliases'] | 'auto';
/** `fit=` values of the policy. */
export type ImageFit = Shipped['fits'][number];
/** A numeric quality of the policy (`qualities`): what a numeric quality is snapped to. */
export type PolicyQuality = Shipped['qualities'][number];
/**
 * q=auto: per image, the cheapest encoding that keeps the level's SSIMULACRA2 target.
 * `'auto'` is the default level (`good`); the URL then says `q=auto`.
 */
export type AutoQuality = 'auto' | 'auto:high' | 'auto:good' | 'auto:eco';
/** A quality option: 1–100 (snapped to the nearest policy quality) or a q=auto level. */
export type ImageQuality = number | AutoQuality;

/** The shape of a policy file (origin_handler/policy.json). */
export interface ImagePolicy {
  readonly widths: readonly number[];
  /** May be empty: a width-only policy, where any height is an error. */
  readonly heights: readonly number[];
  /** The allowed numeric qualities; any 1–100 quality snaps to the nearest (halfway: the higher). */
  readonly qualities: readonly number[];
  readonly quality: {
    readonly min: number;
    readonly max: number;
    readonly default: number;
    readonly auto?: readonly string[];
    readonly auto_default?: string;
  };
  readonly formats: readonly string[];
  readonly format_aliases?: Readonly<Record<string, string>>;
  readonly negotiated: readonly string[];
  readonly fits: readonly string[];
  readonly default_fit: string;
  readonly max_key_bytes?: number;
  /** Whether the edge checks signed URLs ('image-origin/sign'): off, optional or required. */
  readonly signing?: { readonly mode: 'off' | 'optional' | 'required' };
}

export interface ImageOptions {
  /** Intrinsic width wanted (image pixels, not CSS pixels); snapped UP to a policy width. */
  width?: number;
  /** Snapped UP to a policy height (an error when the policy has no heights). */
  height?: number;
  /**
   * 1–100, snapped to the nearest policy quality (halfway: the higher); one scale for
   * every format. Or 'auto' / 'auto:high' / 'auto:good' / 'auto:eco' (q=auto).
   */
  quality?: ImageQuality;
  /** Omit (or 'auto') to let the edge pick AVIF/WebP from the browser's Accept header. */
  format?: ImageFormat;
  /** Only used when both width and height are given. */
  fit?: ImageFit;
}

export interface SrcSetOptions {
  /** Candidate widths; each is snapped up to a policy width and deduplicated. Default: all policy widths. */
  widths?: readonly number[];
  quality?: ImageQuality;
  format?: ImageFormat;
}

export interface ImageUrlConfig {
  /**
   * Required. Origin and optional path prefix for path srcs, e.g. 'https://cdn.example.com'.
   * '' gives root-relative URLs: only for pages served from the same origin as the images.
   */
  baseUrl: string;
  /** Defaults to the policy shipped in this package. */
  policy?: ImagePolicy;
}

/** The info document of an original (`/<key>?info`), as getImageInfo() returns it. */
export interface ImageInfo {
  /** Pixels after the EXIF orientation (what the page shows). */
  width: number;
  /** Pixels after the EXIF orientation. */
  height: number;
  /** The original's format: 'jpeg', 'png', 'gif', 'webp', 'avif'. */
  format: string;
  /** The original's size in bytes. */
  bytes: number;
  /** The first frame has transparent pixels. */
  alpha: boolean;
  /** frames > 1. */
  animated: boolean;
  frames: number;
  /** '#rrggbb' (sRGB): a CSS background while the image loads. */
  dominantColor: string;
  /** Base64 ThumbHash of the upright image (decode with the `thumbhash` package). */
  thumbHash: string;
  /** data: URL of a ≤ 16 px WebP or JPEG (≤ ~400 characters): Next.js' `blurDataURL`. */
  blurDataURL: string;
}

/** What getImageInfo() needs from a fetch Response (the global one has it all). */
export interface ImageInfoResponse {
  readonly status: number;
  readonly statusText?: string;
  readonly headers?: { get(name: string): string | null };
  text(): Promise<string>;
}

/** A fetch for getImageInfo(): the global fetch, or one of your own (tests, caching). */
export type ImageInfoFetch = (url: string, init?: any) => Promise<ImageInfoResponse>;

/**
 * The second argument of getImageInfo(): `fetch` to use instead of the global one; every
 * other property is passed to it as the request init, e.g. Next.js' `{ next: { revalidate:
 * 3600 } }` or `{ cache: 'force-cache' }`, `headers`, `signal`.
 */
export interface ImageInfoInit {
  fetch?: ImageInfoFetch;
  /** Next.js' fetch cache settings (passed through). */
  next?: { revalidate?: number | false; tags?: string[] };
  cache?: string;
  [init: string]: unknown;
}

export interface ImageUrls {
  imageUrl(src: string, options?: ImageOptions): string;
  srcSet(src: string, options?: SrcSetOptions): string;
  /** URL of the original's info document, e.g. 'https://cdn.example.com/photos/cat.jpg?info'. */
  infoUrl(src: string): string;
  /** Fetch and check the info document; rejects with ImageInfoError (or ImageUrlError for a bad src). */
  getImageInfo(src: string, init?: ImageInfoInit): Promise<ImageInfo>;
  /** Policy widths, ascending. */
  readonly widths: readonly number[];
  /** Policy heights, ascending. */
  readonly heights: readonly number[];
}

/** Thrown for a src or option the edge would reject with 400 (the edge's message), or a bad config. */
export class ImageUrlError extends Error {
  name: 'ImageUrlError';
}

/**
 * Rejection of getImageInfo(): the origin's error (`status` and its message, e.g.
 * "image info https://cdn.example.com/a.jpg?info: 404 no such original"), a 200 that is not
 * an info document, or no answer (`status` 0, the network error as `cause`).
 */
export class ImageInfoError extends Error {
  constructor(message: string, details?: { status?: number; url?: string; cause?: unknown });
  name: 'ImageInfoError';
  /** The HTTP status; 0 when there was no answer. */
  status: number;
  /** The info URL that was fetched. */
  url: string;
}

/** The policy shipped in this package (a copy of origin_handler/policy.json). */
export const policy: Shipped;
export function createImageUrls(config: ImageUrlConfig): ImageUrls;

/** Root-relative public URL of one variant, e.g. '/photos/cat.jpg?w=640'. */
export function imageUrl(src: string, options?: ImageOptions): string;
/** Root-relative `srcset` value using policy widths only, e.g. '/a.jpg?w=640 640w, /a.jpg?w=750 750w'. */
export function srcSet(src: string, options?: SrcSetOptions): string;
/** Policy widths, ascending. */
export const widths: readonly PolicyWidth[];
/** Root-relative URL of an original's info document, e.g. '/photos/cat.jpg?info'. */
export function infoUrl(src: string): string;
/** Fetch the info document of an absolute src; for path srcs use createImageUrls({ baseUrl }).getImageInfo. */
export function getImageInfo(src: string, init?: ImageInfoInit): Promise<ImageInfo>;
