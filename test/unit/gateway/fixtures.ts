// Builders for the custom objects the gateway reads, as the operator leaves them.
import type { Alias, LaminaFunction, Version, VersionSnapshot } from '../../../operator/src/api/index.js';

const SHA = 'a'.repeat(64);

export function activeFunction(
  name: string,
  spec: Partial<LaminaFunction['spec']> = {},
  namespace = 'default',
): LaminaFunction {
  return {
    apiVersion: 'lamina.dev/v1alpha1',
    kind: 'Function',
    metadata: { name, namespace, uid: `uid-${name}` },
    spec: {
      runtime: 'nodejs20.x',
      handler: 'index.handler',
      code: { inline: { 'index.mjs': 'export const handler = async (e) => e;' } },
      memorySize: 128,
      timeout: 3,
      publish: false,
      ...spec,
    },
    status: { state: 'Active', codeSha256: SHA, codeSize: 100, revisionId: 'rev-1' },
  };
}

export function snapshot(overrides: Partial<VersionSnapshot> = {}): VersionSnapshot {
  return {
    runtime: 'nodejs20.x',
    handler: 'index.handler',
    codeSha256: SHA,
    codeSize: 100,
    memorySize: 128,
    timeout: 3,
    ephemeralStorageSize: 512,
    layers: [],
    revisionId: 'rev-1',
    ...overrides,
  };
}

export function publishedVersion(
  functionName: string,
  version: number,
  extra: Partial<Version['spec']> = {},
  namespace = 'default',
): Version {
  return {
    apiVersion: 'lamina.dev/v1alpha1',
    kind: 'Version',
    metadata: { name: `${functionName}-v${version}`, namespace },
    spec: { functionName, version, snapshot: snapshot({ description: `v${version}` }), ...extra },
  };
}

export function alias(
  functionName: string,
  name: string,
  functionVersion: string,
  extra: Partial<Alias['spec']> = {},
  namespace = 'default',
): Alias {
  return {
    apiVersion: 'lamina.dev/v1alpha1',
    kind: 'Alias',
    metadata: { name: `${functionName}-${name}`.toLowerCase(), namespace },
    spec: { functionName, name, functionVersion, ...extra },
  };
}
