// The same boundary specs against the CRDs on a real API server (server-side dry run): what
// sits exactly on a limit is admitted, one step past it is refused with the field named.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { installCrds } from '../../harness/crds.js';
import { kubectl } from '../../harness/kube.js';
import { adminKubeConfig, createTestNamespace } from '../../harness/gateway-kube.js';
import { accepted, environmentOverLimit, refused } from '../../fixtures/hostile/specs.js';

describe('Function limits at the API server', () => {
  let admin: KubeConfig;
  let ns: Awaited<ReturnType<typeof createTestNamespace>>;
  let api: CustomObjectsApi;

  before(async () => {
    admin = await adminKubeConfig();
    await installCrds(admin);
    ns = await createTestNamespace(admin, 'sec-limits');
    api = admin.makeApiClient(CustomObjectsApi);
  });
  after(() => ns?.dispose());

  const dryRun = (name: string, spec: Record<string, unknown>) =>
    api.createNamespacedCustomObject({
      group: 'lamina.dev',
      version: 'v1alpha1',
      namespace: ns.name,
      plural: 'functions',
      dryRun: 'All',
      body: { apiVersion: 'lamina.dev/v1alpha1', kind: 'Function', metadata: { name }, spec },
    });

  for (const [i, c] of accepted.entries()) {
    it(`admits ${c.name}`, async () => {
      await dryRun(`ok-${i}`, c.spec);
    });
  }
  for (const [i, c] of refused.entries()) {
    it(`refuses ${c.name}`, async () => {
      await assert.rejects(dryRun(`bad-${i}`, c.spec), (err: { code?: number; body?: unknown }) => {
        assert.equal(err.code, 422, String(err.body));
        assert.match(String(err.body), new RegExp(c.field!));
        return true;
      });
    });
  }

  it('refuses at `kubectl apply` a Function whose variables total over 4 KB, without echoing them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lamina-env-'));
    const file = join(dir, 'function.json');
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'lamina.dev/v1alpha1',
        kind: 'Function',
        metadata: { name: 'env-over', namespace: ns.name },
        spec: {
          runtime: 'nodejs20.x',
          handler: 'index.handler',
          code: { inline: { 'index.mjs': 'x' } },
          environment: { variables: environmentOverLimit },
        },
      }),
    );
    try {
      const refusal = await kubectl('apply', '-f', file).then(
        () => assert.fail('kubectl apply accepted an environment over 4 KB'),
        (err: Error) => err.message,
      );
      assert.match(refusal, /spec\.environment\.variables.*exceed 4096 bytes in total/s);
      assert.ok(!refusal.includes('x'.repeat(100)), `the refusal echoes the variables:\n${refusal}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
