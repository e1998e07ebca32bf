// spec.network at the API server (server-side dry run): the CRD's CEL refuses what the
// operator's schema refuses — malformed ranges, mixed peers, and any range that would open a
// function to link-local addresses (the cloud metadata service).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { installCrds } from '../../harness/crds.js';
import { adminKubeConfig, createTestNamespace } from '../../harness/gateway-kube.js';

const peerCases: Array<[string, Record<string, unknown>, RegExp]> = [
  ['an empty peer', {}, /exactly one of cidr or podSelector/],
  ['cidr and podSelector together', { cidr: '10.0.0.0/8', podSelector: { a: 'b' } }, /exactly one/],
  ['except without cidr', { podSelector: { a: 'b' }, except: ['10.0.0.0/24'] }, /except needs cidr/],
  ['namespace without podSelector', { cidr: '10.0.0.0/8', namespace: 'x' }, /namespace needs podSelector/],
  ['a malformed address', { cidr: '10.0.0.300/8' }, /IP range/],
  ['a prefix past 32', { cidr: '10.0.0.0/33' }, /IP range/],
  ['a malformed exception', { cidr: '10.0.0.0/8', except: ['nope'] }, /IP ranges/],
  ['everything (0.0.0.0/0)', { cidr: '0.0.0.0/0' }, /link-local/],
  ['the metadata address', { cidr: '169.254.169.254/32' }, /link-local/],
  ['a link-local range', { cidr: '169.254.10.0/24' }, /link-local/],
];

describe('spec.network at the API server', () => {
  let admin: KubeConfig;
  let ns: Awaited<ReturnType<typeof createTestNamespace>>;
  let api: CustomObjectsApi;

  before(async () => {
    admin = await adminKubeConfig();
    await installCrds(admin);
    ns = await createTestNamespace(admin, 'sec-netspec');
    api = admin.makeApiClient(CustomObjectsApi);
  });
  after(() => ns?.dispose());

  const dryRun = (name: string, network: unknown) =>
    api.createNamespacedCustomObject({
      group: 'lamina.dev',
      version: 'v1alpha1',
      namespace: ns.name,
      plural: 'functions',
      dryRun: 'All',
      body: {
        apiVersion: 'lamina.dev/v1alpha1',
        kind: 'Function',
        metadata: { name },
        spec: {
          runtime: 'nodejs20.x',
          handler: 'index.handler',
          code: { inline: { 'index.mjs': '' } },
          network,
        },
      },
    });

  const refusedWith = (message: RegExp) => (err: { code?: number; body?: unknown }) => {
    assert.equal(err.code, 422, String(err.body));
    assert.match(String(err.body), message);
    return true;
  };

  it('admits CIDRs with exceptions, pod selectors in another namespace, ports and port ranges', async () => {
    await dryRun('ok', {
      egress: [
        { to: [{ cidr: '10.20.0.0/16', except: ['10.20.9.0/24'] }], ports: [{ port: 5432 }] },
        {
          to: [{ podSelector: { app: 'db' }, namespace: 'data' }],
          ports: [{ protocol: 'UDP', port: 9000, endPort: 9010 }],
        },
        { to: [{ cidr: 'fd00::/8' }] },
      ],
    });
  });

  for (const [i, [what, peer, message]] of peerCases.entries()) {
    it(`refuses ${what}`, async () => {
      await assert.rejects(dryRun(`bad-${i}`, { egress: [{ to: [peer] }] }), refusedWith(message));
    });
  }

  it('refuses a port range that ends below its start, and a rule without peers', async () => {
    await assert.rejects(
      dryRun('bad-range', { egress: [{ to: [{ cidr: '10.0.0.0/8' }], ports: [{ port: 80, endPort: 79 }] }] }),
      refusedWith(/endPort must not be below port/),
    );
    await assert.rejects(dryRun('bad-empty', { egress: [{ to: [] }] }), refusedWith(/to/));
  });
});
