// Which runtime image serves which runtime identifier. Each image is one Debian release's
// interpreters (runtime-image/Dockerfile with that release's build arguments, or
// Dockerfile.java on top of one), so an identifier always means the exact line Lambda's does.
import type { RuntimeId } from './function-config.js';

/** The images besides the default one (`images.runtime`, Debian trixie). */
export const RUNTIME_IMAGE_KEYS = ['default', 'bookworm', 'forky', 'java21', 'java17'] as const;
export type RuntimeImageKey = (typeof RUNTIME_IMAGE_KEYS)[number];

export const RUNTIME_IMAGE: Record<RuntimeId, RuntimeImageKey> = {
  'nodejs20.x': 'default',
  'python3.13': 'default',
  provided: 'default',
  'provided.al2023': 'default',
  'nodejs18.x': 'bookworm',
  'python3.11': 'bookworm',
  'nodejs24.x': 'forky',
  'python3.14': 'forky',
  java21: 'java21',
  java17: 'java17',
};

/** The runtime identifiers one image serves. */
export function runtimesOfImage(key: RuntimeImageKey): RuntimeId[] {
  return (Object.keys(RUNTIME_IMAGE) as RuntimeId[]).filter((runtime) => RUNTIME_IMAGE[runtime] === key);
}

/**
 * Lines past Lambda's deprecation date (Lambda stops security patches; creating functions is
 * blocked later). Served all the same, marked in the README.
 */
export const DEPRECATED_RUNTIMES: Partial<Record<RuntimeId, string>> = {
  'nodejs18.x': '2025-09-01',
  'nodejs20.x': '2026-04-30',
};
