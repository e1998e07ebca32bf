import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Layer, LaminaFunction, Version } from '../../../operator/src/api/index.js';
import { blobsToCollect, referencedDigests } from '../../../operator/src/store/gc.js';

const d = (c: string) => c.repeat(64);
const HOUR = 3_600_000;

const fn = (status: LaminaFunction['status'], code: LaminaFunction['spec']['code'] = { inline: {} }) =>
  ({
    apiVersion: 'lamina.dev/v1alpha1',
    kind: 'Function',
    metadata: { name: 'f' },
    spec: { runtime: 'nodejs20.x', handler: 'i.h', code, memorySize: 128, timeout: 3, publish: false },
    status,
  }) as LaminaFunction;

const layer = (versions: Array<{ version: number; sha256: string; deleted?: boolean }>) =>
  ({
    apiVersion: 'lamina.dev/v1alpha1',
    kind: 'Layer',
    metadata: { name: 'l' },
    spec: { content: { inline: {} } },
    status: { versions: versions.map((v) => ({ ...v, size: 1, createdAt: 'x' })) },
  }) as Layer;

const version = (codeSha256: string, layerSha?: string) =>
  ({
    apiVersion: 'lamina.dev/v1alpha1',
    kind: 'Version',
    metadata: { name: 'v' },
    spec: {
      functionName: 'f',
      version: 1,
      snapshot: {
        runtime: 'nodejs20.x',
        codeSha256,
        codeSize: 1,
        memorySize: 128,
        timeout: 3,
        ephemeralStorageSize: 512,
        revisionId: 'r',
        layers: layerSha ? [{ namespace: 'n', name: 'l', version: 1, sha256: layerSha }] : [],
      },
    },
  }) as Version;

describe('referencedDigests', () => {
  it('counts function code, pinned layers, version snapshots and live layer versions', () => {
    const refs = referencedDigests({
      functions: [
        fn(
          { codeSha256: d('a'), layers: [{ namespace: 'n', name: 'l', version: 1, sha256: d('b') }] },
          { sha256: d('c') },
        ),
      ],
      versions: [version(d('d'), d('e'))],
      layers: [layer([{ version: 1, sha256: d('f') }])],
    });
    assert.deepEqual([...refs].sort(), ['a', 'b', 'c', 'd', 'e', 'f'].map(d));
  });

  it('keeps a deleted layer version only while something pinned it', () => {
    const layers = [
      layer([
        { version: 1, sha256: d('1'), deleted: true },
        { version: 2, sha256: d('2') },
      ]),
    ];
    assert.deepEqual([...referencedDigests({ functions: [], versions: [], layers })], [d('2')]);
    const pinned = fn({
      codeSha256: d('a'),
      layers: [{ namespace: 'n', name: 'l', version: 1, sha256: d('1') }],
    });
    assert.ok(referencedDigests({ functions: [pinned], versions: [], layers }).has(d('1')));
  });
});

describe('blobsToCollect', () => {
  const now = 100 * HOUR;
  const blob = (c: string, ageHours: number) => ({
    sha256: d(c),
    size: 1,
    unzippedSize: 1,
    storedAt: now - ageHours * HOUR,
  });

  it('collects unreferenced blobs older than the grace period', () => {
    const out = blobsToCollect({
      blobs: [blob('a', 2), blob('b', 2), blob('c', 0.5)],
      referenced: new Set([d('a')]),
      now,
      graceMs: HOUR,
    });
    assert.deepEqual(out, [d('b')]);
  });

  it('never collects a referenced blob, however old', () => {
    assert.deepEqual(
      blobsToCollect({ blobs: [blob('a', 1e6)], referenced: new Set([d('a')]), now, graceMs: 0 }),
      [],
    );
  });

  it('keeps a freshly pushed zip that nothing names yet', () => {
    assert.deepEqual(
      blobsToCollect({ blobs: [blob('a', 0)], referenced: new Set(), now, graceMs: HOUR }),
      [],
    );
  });
});
