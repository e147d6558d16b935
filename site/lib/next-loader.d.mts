// Types for next-loader.mjs ('image-origin/next/loader').
import type { ImageQuality } from './index.mjs';

/**
 * What Next.js passes to a custom loader (`images.loaderFile` or the `loader` prop); the
 * quality is passed on to imageUrl() as it is, so a loader you call yourself may give a
 * q=auto level ('auto', 'auto:eco', …) too.
 */
export interface ImageLoaderProps {
  src: string;
  width: number;
  quality?: ImageQuality;
}

export type ImageLoader = (props: ImageLoaderProps) => string;

/** The environment variable the ready loader reads (inlined by Next.js at build time). */
export const BASE_URL_SETTING: 'NEXT_PUBLIC_IMAGE_CDN';

/** A loader for one CDN, e.g. createImageLoader({ baseUrl: process.env.NEXT_PUBLIC_IMAGE_CDN }); throws when baseUrl is empty. */
export function createImageLoader(config: { baseUrl: string | undefined }): ImageLoader;

/** The ready loader: base URL from NEXT_PUBLIC_IMAGE_CDN. */
declare const imageLoader: ImageLoader;
export default imageLoader;

/** The error thrown when NEXT_PUBLIC_IMAGE_CDN is missing (shared with imagesConfig()). */
export function missingBaseUrl(): Error;
