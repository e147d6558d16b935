// For next.config: the `images` settings that make Next.js use the ready loader with
// exactly the policy's widths and qualities; and imageProps() for Server Components and
// build time (the original's size and blur placeholder). Node.js only, never in the browser.
import { relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import { createImageUrls, ImageUrlError, policy } from './index.mjs';
import { BASE_URL_SETTING, missingBaseUrl } from './next-loader.mjs';

export { BASE_URL_SETTING, createImageLoader } from './next-loader.mjs';

/**
 * Props for next/image from the original's info document:
 * `<Image {...await imageProps('/photos/cat.jpg')} alt="" sizes="…" />` gets src, the
 * upright width and height (no layout shift) and placeholder="blur" with its blurDataURL.
 * Reads NEXT_PUBLIC_IMAGE_CDN like the loader; init goes to getImageInfo() (fetch,
 * `next: { revalidate }`, …).
 */
export async function imageProps(src, init) {
  const baseUrl = process.env.NEXT_PUBLIC_IMAGE_CDN;
  if (!baseUrl) throw missingBaseUrl();
  let urls;
  try {
    urls = createImageUrls({ baseUrl });
  } catch (e) {
    throw new ImageUrlError(`image-origin/next: ${BASE_URL_SETTING}: ${e.message}`);
  }
  const { width, height, blurDataURL } = await urls.getImageInfo(src, init);
  return { src, width, height, placeholder: 'blur', blurDataURL };
}

/** Next.js' smallest default device size: policy widths below it become imageSizes. */
const DEVICE_MIN = 640;
/** Next.js accepts at most 20 entries in images.qualities. */
const MAX_QUALITIES = 20;

/** `next start`: the pages were built with the base URL inlined, it is not needed again. */
const PHASE_PRODUCTION_SERVER = 'phase-production-server';

/**
 * `images` for next.config: imagesConfig() → { loader: 'custom', loaderFile, deviceSizes,
 * imageSizes, qualities }. Fails (and with it `next build`) when NEXT_PUBLIC_IMAGE_CDN is
 * missing or not an absolute URL.
 * @param {{ phase?: string, dir?: string, qualities?: number[] }} [options]
 *   phase: the phase Next.js passes to a next.config function; with it, `next start` does
 *   not need the variable. dir: the Next.js project directory (default: the current
 *   directory, where `next build` runs); loaderFile is relative to it. qualities: a subset
 *   to list instead of all of them.
 */
export function imagesConfig({ phase, dir = process.cwd(), qualities } = {}) {
  const baseUrl = process.env.NEXT_PUBLIC_IMAGE_CDN;
  if (phase === PHASE_PRODUCTION_SERVER) {
    // nothing to check: the value was inlined into the pages at build time
  } else if (!baseUrl) {
    throw missingBaseUrl();
  } else {
    try {
      createImageUrls({ baseUrl });
    } catch (e) {
      throw new ImageUrlError(`image-origin/next: ${BASE_URL_SETTING}: ${e.message}`);
    }
  }
  const widths = [...policy.widths].sort((a, b) => a - b);
  const deviceSizes = widths.filter((w) => w >= DEVICE_MIN);
  // The qualities a numeric q can end up with (what imageUrl snaps to); q=auto levels are
  // not numbers, and Next.js' images.qualities takes numbers only.
  const allowed = [...policy.qualities].sort((a, b) => a - b);
  const listed = qualities ? [...qualities] : allowed;
  const stray = listed.filter((v) => !allowed.includes(v));
  if (stray.length) {
    throw new ImageUrlError(
      `image-origin/next: qualities ${stray.join(', ')} are not policy qualities (${allowed.join(', ')})`,
    );
  }
  if (listed.length > MAX_QUALITIES) {
    throw new ImageUrlError(
      `image-origin/next: the policy allows ${listed.length} qualities, Next.js takes at most ` +
        `${MAX_QUALITIES}: pass imagesConfig({ qualities: [...] }) with the ones the site uses`,
    );
  }
  const loader = fileURLToPath(new URL('./next-loader.mjs', import.meta.url));
  return {
    loader: 'custom',
    loaderFile: `.${sep}${relative(dir, loader)}`,
    deviceSizes: deviceSizes.length ? deviceSizes : widths,
    imageSizes: deviceSizes.length ? widths.filter((w) => w < DEVICE_MIN) : [],
    qualities: listed,
  };
}
