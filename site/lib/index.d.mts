// Types for image-url.mjs. Unions below follow the default origin_handler/policy.json;
// a custom policy passed to createImageUrls() is checked at run time, not by these types.

export type ImageFormat = 'avif' | 'webp' | 'jpeg' | 'jpg' | 'png' | 'auto';
export type ImageFit = 'cover' | 'contain' | 'inside';

/** The shared policy file (origin_handler/policy.json). */
export interface ImagePolicy {
  widths: readonly number[];
  heights: readonly number[];
  quality: { min: number; max: number; step: number; default: number };
  formats: readonly string[];
  format_aliases?: Readonly<Record<string, string>>;
  negotiated: readonly string[];
  fits: readonly string[];
  default_fit: string;
  max_key_bytes?: number;
}

export interface ImageOptions {
  /** CSS pixels are not meant: the intrinsic width wanted; snapped UP to a policy width. */
  width?: number;
  /** Snapped UP to a policy height. */
  height?: number;
  /** 1–100, snapped up to the policy step; one scale for every format. */
  quality?: number;
  /** Omit (or 'auto') to let the edge pick AVIF/WebP from the browser's Accept header. */
  format?: ImageFormat;
  /** Only used when both width and height are given. */
  fit?: ImageFit;
}

export interface SrcSetOptions {
  /** Candidate widths; each is snapped up to a policy width and deduplicated. Default: all policy widths. */
  widths?: readonly number[];
  quality?: number;
  format?: ImageFormat;
}

/** Exactly what Next.js passes to a custom loader (`images.loader: 'custom'`). */
export interface ImageLoaderProps {
  src: string;
  width: number;
  quality?: number;
}

export interface ImageUrlConfig {
  /** Origin and optional path prefix for path srcs, e.g. 'https://cdn.example.com'. Default '' (root-relative URLs). */
  baseUrl?: string;
  /** Defaults to the shared policy file. */
  policy?: ImagePolicy;
}

export interface ImageUrls {
  imageUrl(src: string, options?: ImageOptions): string;
  srcSet(src: string, options?: SrcSetOptions): string;
  imageLoader(props: ImageLoaderProps): string;
  /** Policy widths, ascending. */
  readonly widths: readonly number[];
  /** Policy heights, ascending. */
  readonly heights: readonly number[];
}

/** Thrown for a src or option the edge would reject with 400; `message` is the edge's message. */
export class ImageUrlError extends Error {
  name: 'ImageUrlError';
}

export const policy: ImagePolicy;
export function createImageUrls(config?: ImageUrlConfig): ImageUrls;

/** Root-relative public URL of one variant, e.g. '/photos/cat.jpg?w=640'. */
export function imageUrl(src: string, options?: ImageOptions): string;
/** `srcset` value using policy widths only, e.g. '/a.jpg?w=640 640w, /a.jpg?w=750 750w'. */
export function srcSet(src: string, options?: SrcSetOptions): string;
/** Next.js custom loader producing root-relative URLs. */
export function imageLoader(props: ImageLoaderProps): string;
export const widths: readonly number[];
export default imageLoader;
