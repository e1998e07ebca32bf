// The API as the API server enforces it: examples accepted, invalid manifests refused with
// a message a user can act on, published versions immutable, printer columns shown.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ApiException,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
} from '@kubernetes/client-node';
import { installCrds } from '../../harness/crds.js';
import { adminKubeConfig, createTestNamespace } from '../../harness/gateway-kube.js';
import { kubectl } from '../../harness/kube.js';
import type { Version, VersionSnapshot, VersionSpec } from '../../../operator/src/api/index.js';
import { laminaManifests } from '../../harness/manifests.js';

type Namespace = Awaited<ReturnType<typeof createTestNamespace>> & { objects: KubernetesObjectApi };

function rejection(error: unknown): string {
  if (error instanceof ApiException) return `${error.code} ${JSON.stringify(error.body)}`;
  throw error;
}

describe('CRDs on a real API server', () => {
  let ns: Namespace;

  before(async () => {
    const kc = await adminKubeConfig();
    await installCrds(kc);
    ns = { ...(await createTestNamespace(kc, 'api')), objects: KubernetesObjectApi.makeApiClient(kc) };
  });
  after(() => ns?.dispose());

  const inNamespace = (object: KubernetesObject) => ({
    ...object,
    metadata: { ...object.metadata, namespace: ns.name },
  });

  for (const manifest of laminaManifests('examples')) {
    it(`accepts ${manifest.file} (${manifest.object.kind} ${manifest.object.metadata.name})`, async () => {
      const created = await ns.objects.create(inNamespace(manifest.object));
      assert.equal(created.metadata?.name, manifest.object.metadata.name);
    });
  }

  for (const manifest of laminaManifests('test/fixtures/manifests/invalid')) {
    it(`rejects ${manifest.file} with "${manifest.expect}"`, async () => {
      const message = await ns.objects
        .create(inNamespace(manifest.object))
        .then(() => assert.fail('the API server accepted an invalid manifest'), rejection);
      assert.match(message, /^422 /);
      assert.ok(message.includes(manifest.expect!), `expected "${manifest.expect}" in ${message}`);
    });
  }

  describe('a published Version', () => {
    const snapshot: VersionSnapshot = {
      runtime: 'python3.13',
      handler: 'app.handler',
      codeSha256: 'a'.repeat(64),
      codeSize: 100,
      memorySize: 128,
      timeout: 3,
      ephemeralStorageSize: 512,
      revisionId: 'r1',
    };
    const version = (spec: Partial<VersionSpec>): Version => ({
      apiVersion: 'lamina.dev/v1alpha1',
      kind: 'Version',
      metadata: { name: 'calc-v1', namespace: ns.name },
      spec: { functionName: 'calc', ...spec },
    });

    before(async () => {
      await ns.objects.create(version({}));
      // What the operator does once: assign the number and record the snapshot.
      await ns.objects.patch(
        version({ version: 1, snapshot }),
        undefined,
        undefined,
        'test',
        undefined,
        PatchStrategy.MergePatch,
      );
    });

    it('refuses a change to its snapshot', async () => {
      const message = await ns.objects
        .patch(
          version({ snapshot: { ...snapshot, memorySize: 256 } }),
          undefined,
          undefined,
          'test',
          undefined,
          PatchStrategy.MergePatch,
        )
        .then(() => assert.fail('snapshot changed'), rejection);
      assert.match(message, /snapshot cannot change/);
    });

    it('refuses a change to its number', async () => {
      const message = await ns.objects
        .patch(version({ version: 2 }), undefined, undefined, 'test', undefined, PatchStrategy.MergePatch)
        .then(() => assert.fail('number changed'), rejection);
      assert.match(message, /version number cannot change/);
    });

    it('refuses moving it to another function', async () => {
      const message = await ns.objects
        .patch(
          version({ functionName: 'other' }),
          undefined,
          undefined,
          'test',
          undefined,
          PatchStrategy.MergePatch,
        )
        .then(() => assert.fail('functionName changed'), rejection);
      assert.match(message, /functionName is immutable/);
    });

    it('still accepts a change to what may change (provisioned concurrency)', async () => {
      const patched = await ns.objects.patch(
        version({ provisionedConcurrentExecutions: 2 }),
        undefined,
        undefined,
        'test',
        undefined,
        PatchStrategy.MergePatch,
      );
      assert.equal(
        (patched as { spec: { provisionedConcurrentExecutions: number } }).spec
          .provisionedConcurrentExecutions,
        2,
      );
    });
  });

  it('shows runtime, state, latest version and age in `kubectl get fn`', async () => {
    const { stdout } = await kubectl('get', 'fn', '-n', ns.name);
    const [header, ...rows] = stdout.trim().split('\n');
    assert.deepEqual(header!.split(/\s+/), ['NAME', 'RUNTIME', 'STATE', 'LATEST', 'AGE']);
    assert.ok(
      rows.some((row) => /^calculator\s+python3\.13\s/.test(row)),
      stdout,
    );
  });

  it('lists every kind under the lamina category', async () => {
    const { stdout } = await kubectl('get', 'lamina', '-n', ns.name, '-o', 'name');
    for (const kind of [
      'function.lamina.dev/',
      'layer.lamina.dev/',
      'version.lamina.dev/',
      'alias.lamina.dev/',
    ]) {
      assert.ok(stdout.includes(kind), `${kind} missing from:\n${stdout}`);
    }
  });
});
