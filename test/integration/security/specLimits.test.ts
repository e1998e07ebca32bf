// The same boundary specs against the CRDs on a real API server (server-side dry run): what
// sits exactly on a limit is admitted, one step past it is refused with the field named.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { installCrds } from '../../harness/crds.js';
import { adminKubeConfig, createTestNamespace } from '../../harness/gatewayKube.js';
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

  it('admits an environment over 4 KB in total (no CEL on the sum); the operator refuses it', async () => {
    // Documented in SECURITY.md: the operator sets state Failed (InvalidParameterValue), see
    // test/integration/operator/function.test.ts.
    await dryRun('env-over', {
      runtime: 'nodejs20.x',
      handler: 'index.handler',
      code: { inline: { 'index.mjs': 'x' } },
      environment: { variables: environmentOverLimit },
    });
  });
});
