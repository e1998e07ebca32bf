// Pool shapes: the pod resources a generic environment is started with. A cold start can
// take a pool pod only when everything fixed at pod creation matches — memory (and with it
// the CPU request), the /tmp size — and nothing needs a pod-level identity or mount: no
// service account (its token is mounted at creation) and no Secret refs (envFrom is too).
import type { RuntimeImageKey } from '../../protocol/index.js';
import { imageKeyOf } from '../environments/runtime-images.js';
import type { EnvironmentSpec } from '../environments/types.js';

export interface PoolShape {
  memorySize: number;
  ephemeralStorageSize: number;
  /** The runtime image (runtime-images.ts); undefined: the default image. */
  image?: RuntimeImageKey;
}

/** Lambda's default /tmp (512 MB) when a shape names memory only. */
export const DEFAULT_EPHEMERAL_STORAGE_MB = 512;

/** "128-512", "java21-512-512": usable as a label value. */
export function shapeName(shape: PoolShape): string {
  const image = shape.image === undefined || shape.image === 'default' ? '' : `${shape.image}-`;
  return `${image}${shape.memorySize}-${shape.ephemeralStorageSize}`;
}

/** The memory shapes of `shapes` for one runtime image. */
export function shapesOfImage(shapes: readonly PoolShape[], image: RuntimeImageKey): PoolShape[] {
  return shapes.map((s) => (image === 'default' ? { ...s, image: undefined } : { ...s, image }));
}

/**
 * `LAMINA_POOL_SHAPES`: comma-separated `<memoryMB>[:<ephemeralStorageMB>]`, e.g. "128,512:1024".
 * Throws with a message naming the bad entry.
 */
export function parseShapes(value: string): PoolShape[] {
  const shapes: PoolShape[] = [];
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const match = /^(\d+)(?::(\d+))?$/.exec(entry);
    const memorySize = Number(match?.[1]);
    const ephemeralStorageSize = Number(match?.[2] ?? DEFAULT_EPHEMERAL_STORAGE_MB);
    if (!match || memorySize < 128 || memorySize > 10240)
      throw new Error(`"${entry}": memory must be 128-10240 MB, as <memoryMB>[:<ephemeralStorageMB>]`);
    if (ephemeralStorageSize < 512 || ephemeralStorageSize > 10240)
      throw new Error(`"${entry}": ephemeral storage must be 512-10240 MB`);
    const shape = { memorySize, ephemeralStorageSize };
    if (!shapes.some((s) => shapeName(s) === shapeName(shape))) shapes.push(shape);
  }
  return shapes;
}

/** The pool shape that can serve this environment, or undefined when it needs its own pod. */
export function poolShapeFor(spec: EnvironmentSpec, shapes: readonly PoolShape[]): PoolShape | undefined {
  if (spec.serviceAccountName !== undefined || spec.secretRefs.length > 0) return undefined;
  if (spec.image) return undefined; // its own image: never a generic pod
  const image = imageKeyOf(spec.config.runtime);
  return shapes.find(
    (s) =>
      s.memorySize === spec.config.memorySize &&
      s.ephemeralStorageSize === spec.ephemeralStorageSize &&
      (s.image ?? 'default') === image,
  );
}
