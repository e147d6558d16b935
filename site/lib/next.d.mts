// Types for next.mjs ('image-origin/next').
export { BASE_URL_SETTING, createImageLoader } from './next-loader.mjs';
export type { ImageLoader, ImageLoaderProps } from './next-loader.mjs';

export interface ImagesConfigOptions {
  /** The phase Next.js passes to a next.config function: `next start` then needs no NEXT_PUBLIC_IMAGE_CDN. */
  phase?: string;
  /** The Next.js project directory; loaderFile is relative to it. Default: process.cwd(). */
  dir?: string;
  /** Qualities to list in images.qualities (policy qualities only). Default: all of them. */
  qualities?: readonly number[];
}

/** The `images` entry of next.config: assignable to NextConfig['images']. */
export interface ImageOriginImagesConfig {
  loader: 'custom';
  loaderFile: string;
  deviceSizes: number[];
  imageSizes: number[];
  qualities: number[];
}

/** `images` for next.config; throws when NEXT_PUBLIC_IMAGE_CDN is missing or invalid. */
export function imagesConfig(options?: ImagesConfigOptions): ImageOriginImagesConfig;
