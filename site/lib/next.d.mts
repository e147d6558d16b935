// Types for next.mjs ('image-origin/next').
import type { ImageInfoInit } from './index.mjs';

export { BASE_URL_SETTING, createImageLoader } from './next-loader.mjs';
export type { ImageLoader, ImageLoaderProps } from './next-loader.mjs';

export interface ImagesConfigOptions {
  /** The phase Next.js passes to a next.config function: `next start` then needs no NEXT_PUBLIC_IMAGE_CDN. */
  phase?: string;
  /** The Next.js project directory; loaderFile is relative to it. Default: process.cwd(). */
  dir?: string;
  /** Qualities to list in images.qualities (policy `qualities` only). Default: all of them. */
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

/** What imageProps() gives <Image>: spread it, then add alt, sizes, className, …. */
export interface ImageInfoProps {
  src: string;
  /** Upright pixel width of the original (EXIF orientation applied). */
  width: number;
  height: number;
  placeholder: 'blur';
  /** The info document's data: URL (≤ 16 px WebP/JPEG). */
  blurDataURL: string;
}

/**
 * `<Image {...await imageProps('/photos/cat.jpg')} alt="" />` in a Server Component: fetches
 * the original's info from NEXT_PUBLIC_IMAGE_CDN (init: as for getImageInfo, e.g.
 * `{ next: { revalidate: 3600 } }`); rejects with ImageInfoError when the origin answers an error.
 */
export function imageProps(src: string, init?: ImageInfoInit): Promise<ImageInfoProps>;
