// What a function version runs with. $LATEST's configuration is derived from the Function
// (spec + the digests the operator resolved into status); a published Version stores the
// same shape frozen. The gateway and the operator both use this one derivation.
import { limits } from './common.js';
import type { LaminaFunction } from './resources.js';
import type { VersionSnapshot } from './version.js';

/** Returns undefined while the operator has not yet resolved the code and layers. */
export function snapshotOfLatest(fn: LaminaFunction): VersionSnapshot | undefined {
  const { spec, status } = fn;
  if (!status?.codeSha256 || status.codeSize === undefined || !status.revisionId) return undefined;
  if (spec.image && !status.resolvedImageUri?.endsWith(`@sha256:${status.codeSha256}`)) return undefined;
  return {
    runtime: spec.runtime,
    handler: spec.handler,
    ...(spec.image
      ? {
          image: {
            uri: status.resolvedImageUri ?? '',
            ...(spec.image.imageConfig ? { imageConfig: spec.image.imageConfig } : {}),
            ...(spec.image.imagePullSecrets ? { imagePullSecrets: spec.image.imagePullSecrets } : {}),
          },
        }
      : {}),
    codeSha256: status.codeSha256,
    codeSize: status.codeSize,
    memorySize: spec.memorySize ?? limits.memorySize.default,
    timeout: spec.timeout ?? limits.timeout.default,
    ephemeralStorageSize: spec.ephemeralStorage?.size ?? limits.ephemeralStorage.default,
    environment: spec.environment,
    serviceAccountName: spec.serviceAccountName,
    layers: status.layers ?? [],
    deadLetterTarget: spec.deadLetterConfig?.targetArn,
    description: spec.description,
    revisionId: status.revisionId,
  };
}

/**
 * Whether two snapshots describe the same code and configuration. Publishing an
 * unchanged function returns the existing version instead of creating one (Lambda rule);
 * the revision id is bookkeeping and does not count as a change.
 */
export function sameConfiguration(a: VersionSnapshot, b: VersionSnapshot): boolean {
  const { revisionId: _a, ...left } = a;
  const { revisionId: _b, ...right } = b;
  return canonicalJson(left) === canonicalJson(right);
}

/** JSON with object keys sorted and undefined dropped, so equal values compare equal. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>)
            .filter(([, x]) => x !== undefined)
            .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
        )
      : v,
  );
}
