// From an invoke target (function + version snapshot) to the agent's configuration and the
// environment spec. Environments are keyed by a hash of that configuration, so a changed
// $LATEST never reuses an environment that runs the old code.
import { createHash } from 'node:crypto';
import {
  canonicalJson,
  functionArn,
  type LaminaFunction,
  limits,
  type VersionSnapshot,
} from '../../api/index.js';
import type { InitializationType } from '../scaling/environment-plan.js';
import { type AgentFunctionConfig, environmentKey, type EnvironmentSpec } from './types.js';

export interface EnvironmentSettings {
  storeUrl: string;
  region: string;
}

export function blobUrl(storeUrl: string, sha256: string): string {
  return `${storeUrl.replace(/\/+$/, '')}/blobs/sha256/${sha256}`;
}

export function agentFunctionConfig(
  fn: LaminaFunction,
  version: string,
  snapshot: VersionSnapshot,
  initializationType: InitializationType,
  settings: EnvironmentSettings,
): AgentFunctionConfig {
  const namespace = fn.metadata.namespace ?? 'default';
  return {
    functionName: fn.metadata.name,
    namespace,
    version,
    // An image function has no runtime of Lamina's: the label stays the custom runtime's.
    runtime: snapshot.runtime ?? 'provided.al2023',
    ...(snapshot.handler !== undefined ? { handler: snapshot.handler } : {}),
    memorySize: snapshot.memorySize,
    timeout: snapshot.timeout,
    environment: { ...(snapshot.environment?.variables ?? {}) },
    ...(snapshot.image
      ? { packageType: 'Image' as const }
      : {
          packageType: 'Zip' as const,
          code: { url: blobUrl(settings.storeUrl, snapshot.codeSha256), sha256: snapshot.codeSha256 },
        }),
    layers: (snapshot.layers ?? []).map((l) => ({
      url: blobUrl(settings.storeUrl, l.sha256),
      sha256: l.sha256,
    })),
    functionArn: functionArn(settings.region, namespace, fn.metadata.name),
    region: settings.region,
    initializationType,
    maxUnzippedBytes: limits.unzippedBytes,
  };
}

/** Short stable hash of what the environment runs (the initialization type aside). */
export function configHash(config: AgentFunctionConfig, extra: unknown): string {
  const { initializationType: _ignored, ...rest } = config;
  return createHash('sha256').update(canonicalJson({ rest, extra })).digest('hex').slice(0, 16);
}

export function environmentSpec(
  fn: LaminaFunction,
  version: string,
  snapshot: VersionSnapshot,
  initializationType: InitializationType,
  settings: EnvironmentSettings,
): EnvironmentSpec {
  const config = agentFunctionConfig(fn, version, snapshot, initializationType, settings);
  const secretRefs = (snapshot.environment?.secretRefs ?? []).map((s) => s.name);
  const hash = configHash(config, {
    ephemeral: snapshot.ephemeralStorageSize,
    sa: snapshot.serviceAccountName,
    secretRefs,
    ...(snapshot.image ? { image: snapshot.image } : {}),
  });
  return {
    key: environmentKey(config.namespace, config.functionName, version, hash),
    namespace: config.namespace,
    functionName: config.functionName,
    version,
    configHash: hash,
    initializationType,
    config,
    ephemeralStorageSize: snapshot.ephemeralStorageSize,
    ...(snapshot.serviceAccountName ? { serviceAccountName: snapshot.serviceAccountName } : {}),
    secretRefs,
    ...(snapshot.image ? { image: snapshot.image } : {}),
    owner: {
      apiVersion: fn.apiVersion,
      kind: fn.kind,
      name: fn.metadata.name,
      uid: fn.metadata.uid ?? '',
    },
  };
}
