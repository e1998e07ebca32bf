// From a parsed FunctionName + Qualifier to the exact code and configuration that run:
// $LATEST, a published version, or an alias (with its weighted routing) — LAMBDA-SPEC §1, §5.
import {
  functionArn,
  type FunctionReference,
  type LaminaFunction,
  snapshotOfLatest,
  type VersionSnapshot,
} from '../../api/index.js';
import { ResourceConflictException, ResourceNotFoundException } from '../../errors.js';
import type { FunctionCatalog } from '../catalog/catalog.js';
import { pickWeightedVersion, type RandomSource } from './weighted-routing.js';

export const LATEST = '$LATEST';

export interface InvokeTarget {
  namespace: string;
  functionName: string;
  fn: LaminaFunction;
  /** The version that runs: `$LATEST` or a number (X-Amz-Executed-Version). */
  version: string;
  snapshot: VersionSnapshot;
  /** The ARN the client invoked (qualified by alias or version when it named one). */
  invokedFunctionArn: string;
  alias?: string;
}

const VERSION_NUMBER = /^[0-9]+$/;

function notFound(region: string, ref: FunctionReference) {
  return new ResourceNotFoundException(
    `Function not found: ${functionArn(region, ref.namespace, ref.name, ref.qualifier)}`,
  );
}

function latestSnapshot(fn: LaminaFunction): VersionSnapshot {
  const snapshot = snapshotOfLatest(fn);
  const state = fn.status?.state ?? 'Pending';
  if (state !== 'Active' || !snapshot) throw ResourceConflictException.functionState(state);
  return snapshot;
}

function versionSnapshot(
  catalog: FunctionCatalog,
  region: string,
  ref: FunctionReference,
  version: string,
): VersionSnapshot {
  const snapshot = catalog.getVersion(ref.namespace, ref.name, version)?.spec.snapshot;
  if (!snapshot) throw notFound(region, { ...ref, qualifier: ref.qualifier ?? version });
  return snapshot;
}

export function resolveTarget(
  catalog: FunctionCatalog,
  ref: FunctionReference,
  region: string,
  random: RandomSource,
): InvokeTarget {
  const fn = catalog.getFunction(ref.namespace, ref.name);
  if (!fn || fn.metadata.deletionTimestamp) throw notFound(region, ref);
  const base = { namespace: ref.namespace, functionName: ref.name, fn };
  const invokedFunctionArn = functionArn(region, ref.namespace, ref.name, ref.qualifier);

  if (ref.qualifier === undefined) {
    return { ...base, version: LATEST, snapshot: latestSnapshot(fn), invokedFunctionArn };
  }
  if (VERSION_NUMBER.test(ref.qualifier)) {
    const snapshot = versionSnapshot(catalog, region, ref, ref.qualifier);
    return { ...base, version: ref.qualifier, snapshot, invokedFunctionArn };
  }
  const alias = catalog.getAlias(ref.namespace, ref.name, ref.qualifier);
  if (!alias) throw notFound(region, ref);
  const version = pickWeightedVersion(
    alias.spec.functionVersion,
    alias.spec.routingConfig?.additionalVersionWeights,
    random,
  );
  const snapshot = version === LATEST ? latestSnapshot(fn) : versionSnapshot(catalog, region, ref, version);
  return { ...base, version, snapshot, invokedFunctionArn, alias: ref.qualifier };
}
