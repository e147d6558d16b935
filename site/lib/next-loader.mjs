// The ready Next.js image loader (`images.loaderFile`; imagesConfig() from
// 'image-origin/next' points there). Next.js calls it with { src, width, quality } for
// every srcset candidate. Browser-safe: no Node.js imports.
import { createImageUrls, ImageUrlError, widths } from './index.mjs';

/** Where the ready loader takes the CDN base URL from (inlined by Next.js at build time). */
export const BASE_URL_SETTING = 'NEXT_PUBLIC_IMAGE_CDN';

/** The error for a missing NEXT_PUBLIC_IMAGE_CDN (the loader's and imagesConfig()'s). */
export function missingBaseUrl() {
  return new ImageUrlError(
    `image-origin/next: ${BASE_URL_SETTING} is not set. Set it to the CDN origin ` +
      '(e.g. NEXT_PUBLIC_IMAGE_CDN=https://cdn.example.com) in .env.production or the ' +
      'environment of `next build` and `next dev`: Next.js inlines it into the pages at build time.',
  );
}

const STATIC_MEDIA = /^(?:[a-z][a-z0-9+.-]*:)?(?:\/\/[^/]*)?(?:\/[^?#]*)?\/_next\/static\//i;

function check(src, width, snapped) {
  if (typeof src === 'string' && STATIC_MEDIA.test(src)) {
    throw new ImageUrlError(
      `image-origin/next: "${src}" is a file Next.js serves itself (a static import or ` +
        '/_next/static asset), not an original on the image origin. Put the image in the ' +
        'originals bucket and use its key as src, or add the unoptimized prop to serve the ' +
        'file as it is.',
    );
  }
  // Next.js writes `${url} ${width}w`: a width the origin snaps would make the descriptor
  // lie. In production every width comes from images.deviceSizes/imageSizes (in
  // development Next.js also probes the loader with the width prop, so only then).
  if (process.env.NODE_ENV === 'production' && snapped !== width) {
    throw new ImageUrlError(
      `image-origin/next: Next.js asked for width ${width}, not a policy width ` +
        `(${widths.join(' ')}): its srcset would say ${width}w for the ${snapped} px ` +
        "variant. Set images: imagesConfig() from 'image-origin/next' in next.config so " +
        'images.deviceSizes and images.imageSizes are the policy widths.',
    );
  }
}

/**
 * A Next.js loader for one CDN: createImageLoader({ baseUrl: 'https://cdn.example.com' }).
 * Use it as the `loader` prop (in a 'use client' component) or in your own loader file.
 */
export function createImageLoader({ baseUrl } = {}) {
  if (!baseUrl) {
    throw new ImageUrlError(
      "image-origin/next: createImageLoader needs baseUrl, the CDN origin, e.g. 'https://cdn.example.com'",
    );
  }
  const { imageUrl } = createImageUrls({ baseUrl });
  return function imageLoader({ src, width, quality }) {
    const url = imageUrl(src, { width, quality });
    check(src, width, Number(new URL(url, 'https://x.invalid').searchParams.get('w')));
    return url;
  };
}

let ready;

/** The ready loader: base URL from NEXT_PUBLIC_IMAGE_CDN, read when Next.js first calls it. */
export default function imageLoader(props) {
  if (!ready) {
    // Written out in full so Next.js inlines the value into client bundles at build time.
    const baseUrl = process.env.NEXT_PUBLIC_IMAGE_CDN;
    if (!baseUrl) {
      throw missingBaseUrl();
    }
    ready = createImageLoader({ baseUrl });
  }
  return ready(props);
}
