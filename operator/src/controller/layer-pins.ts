// Which layer versions a function runs with: each reference resolved to a digest, or the
// first reason it cannot be. Pure: the caller passes a lookup over its Layer cache.
//
// Rules (LAMBDA-SPEC §4):
//  - `name` is a Layer in the function's namespace; `ns/name` one in `ns`, usable only if that
//    Layer's spec.sharing.namespaces contains the function's namespace or "*".
//  - A deleted layer version cannot be newly referenced. A version the function already
//    pinned (same namespace, name and version in status.layers) is kept as pinned, even if
//    it was deleted, unshared or its Layer removed since: running functions keep working.
//  - A layer version that lists compatibleRuntimes must list the function's runtime.
//  - One layer may appear only once.
import type { Layer, LayerReference, PinnedLayer } from '../api/index.js';
import { Reason, type Failure } from './reasons.js';

export interface LayerPinInput {
  functionNamespace: string;
  runtime: string;
  references: readonly LayerReference[];
  previous: readonly PinnedLayer[];
  lookup(namespace: string, name: string): Layer | undefined;
}

export type LayerPinResult = { ok: true; pins: PinnedLayer[] } | ({ ok: false } & Failure);

export function parseLayerName(
  reference: string,
  functionNamespace: string,
): { namespace: string; name: string } {
  const slash = reference.indexOf('/');
  return slash < 0
    ? { namespace: functionNamespace, name: reference }
    : { namespace: reference.slice(0, slash), name: reference.slice(slash + 1) };
}

const label = (namespace: string, name: string, version?: number) =>
  `${namespace}/${name}${version === undefined ? '' : `:${version}`}`;

export function resolveLayerPins(input: LayerPinInput): LayerPinResult {
  const { functionNamespace, runtime, references, previous, lookup } = input;
  const pins: PinnedLayer[] = [];
  const seen = new Set<string>();
  const fail = (reasonCode: string, message: string): LayerPinResult => ({ ok: false, reasonCode, message });

  for (const reference of references) {
    const { namespace, name } = parseLayerName(reference.name, functionNamespace);
    if (seen.has(`${namespace}/${name}`)) {
      return fail(
        Reason.InvalidParameterValue,
        `Two different versions of the same layer are not allowed: ${label(namespace, name)}`,
      );
    }
    seen.add(`${namespace}/${name}`);

    const pinned = previous.find(
      (p) => p.namespace === namespace && p.name === name && p.version === reference.version,
    );
    if (pinned) {
      pins.push(pinned);
      continue;
    }
    const layer = lookup(namespace, name);
    if (!layer) return fail(Reason.LayerNotFound, `Layer ${label(namespace, name)} does not exist`);
    const shared = layer.spec.sharing?.namespaces ?? [];
    if (namespace !== functionNamespace && !shared.includes('*') && !shared.includes(functionNamespace)) {
      return fail(
        Reason.LayerAccessDenied,
        `Layer ${label(namespace, name)} is not shared with namespace ${functionNamespace}; ` +
          `its owner can add "${functionNamespace}" (or "*") to spec.sharing.namespaces`,
      );
    }
    const record = layer.status?.versions?.find((v) => v.version === reference.version);
    const deleted = record?.deleted || layer.spec.deletedVersions?.includes(reference.version);
    if (!record || deleted) {
      const latest = layer.status?.latestVersion;
      return fail(
        Reason.LayerNotFound,
        `Layer version ${label(namespace, name, reference.version)} ${deleted ? 'was deleted and cannot be newly referenced' : 'does not exist'}` +
          (latest ? `; the latest version is ${latest}` : ''),
      );
    }
    const compatible = record.compatibleRuntimes ?? [];
    if (compatible.length > 0 && !compatible.includes(runtime as (typeof compatible)[number])) {
      return fail(
        Reason.InvalidParameterValue,
        `Layer version ${label(namespace, name, reference.version)} is not compatible with runtime ${runtime} ` +
          `(compatible: ${compatible.join(', ')})`,
      );
    }
    pins.push({
      namespace,
      name,
      version: record.version,
      sha256: record.sha256,
      size: record.size,
      ...(record.unzippedSize !== undefined && { unzippedSize: record.unzippedSize }),
    });
  }
  return { ok: true, pins };
}
