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

/** The shape of a policy file (origin_handler/policy.json). */
export interface ImagePolicy {
  readonly widths: readonly number[];
  readonly heights: readonly number[];
  readonly quality: { readonly min: number; readonly max: number; readonly step: number; readonly default: number };
  readonly formats: readonly string[];
  readonly format_aliases?: Readonly<Record<string, string>>;
  readonly negotiated: readonly string[];
  readonly fits: readonly string[];
  readonly default_fit: string;
  readonly max_key_bytes?: number;
}

export interface ImageOptions {
  /** Intrinsic width wanted (image pixels, not CSS pixels); snapped UP to a policy width. */
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

export interface ImageUrlConfig {
  /**
   * Required. Origin and optional path prefix for path srcs, e.g. 'https://cdn.example.com'.
   * '' gives root-relative URLs: only for pages served from the same origin as the images.
   */
  baseUrl: string;
  /** Defaults to the policy shipped in this package. */
  policy?: ImagePolicy;
}

export interface ImageUrls {
  imageUrl(src: string, options?: ImageOptions): string;
  srcSet(src: string, options?: SrcSetOptions): string;
  /** Policy widths, ascending. */
  readonly widths: readonly number[];
  /** Policy heights, ascending. */
  readonly heights: readonly number[];
}

/** Thrown for a src or option the edge would reject with 400 (the edge's message), or a bad config. */
export class ImageUrlError extends Error {
  name: 'ImageUrlError';
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
