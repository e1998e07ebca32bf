// Which image an environment of a runtime runs (pure). The default image (`images.runtime`,
// LAMINA_RUNTIME_IMAGE) serves Debian trixie's lines and the custom runtimes; the others are
// named per image key (`images.runtimes.<key>`, LAMINA_RUNTIME_IMAGES).
import { RUNTIME_IMAGE, RUNTIME_IMAGE_KEYS, type RuntimeImageKey } from '../../protocol/index.js';

export type ImageMap = Partial<Record<RuntimeImageKey, string>>;

/**
 * `key=value` pairs, comma-separated (LAMINA_RUNTIME_IMAGES, LAMINA_RUNTIME_IMAGE_REVISIONS,
 * LAMINA_POOL_RUNTIME_SIZES). Throws naming the bad entry.
 */
export function parseImageMap(value: string): ImageMap {
  const map: ImageMap = {};
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    const key = entry.slice(0, eq).trim();
    if (eq < 1 || !(RUNTIME_IMAGE_KEYS as readonly string[]).includes(key))
      throw new Error(
        `"${entry}": expected <image>=<value> with <image> one of ${RUNTIME_IMAGE_KEYS.join(', ')}`,
      );
    map[key as RuntimeImageKey] = entry.slice(eq + 1).trim();
  }
  return map;
}

/** The image key of a runtime identifier (the default image for anything it does not know). */
export function imageKeyOf(runtime: string | undefined): RuntimeImageKey {
  return (RUNTIME_IMAGE as Record<string, RuntimeImageKey | undefined>)[runtime ?? ''] ?? 'default';
}

/** The image reference of an image key: configured, or `lamina/runtime-<key>:dev` as `npm run up` names them. */
export function imageOf(key: RuntimeImageKey, defaultImage: string, images: ImageMap = {}): string {
  if (key === 'default') return images.default ?? defaultImage;
  return images[key] ?? `lamina/runtime-${key}:dev`;
}
