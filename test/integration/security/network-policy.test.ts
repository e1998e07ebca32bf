// The chart's NetworkPolicies: rendered by helm, checked for what they let through, and
// accepted by the real API server (server-side dry run). Enforcement with real connections is
// tested on the local cluster, which runs kube-network-policies: test/e2e/network-policy.test.ts.
import assert from 'node:assert/strict';
import { BlockList, isIPv4 } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { KubernetesObjectApi, type KubeConfig } from '@kubernetes/client-node';
import { adminKubeConfig, createTestNamespace } from '../../harness/gateway-kube.js';
import { renderChart } from './identities.js';

// The policy as YAML has it (client-node's types rename `from` to `_from`).
interface Peer {
  podSelector?: { matchLabels?: Record<string, string> };
  namespaceSelector?: { matchLabels?: Record<string, string> };
  ipBlock?: { cidr: string; except?: string[] };
}
interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: Array<{ protocol?: string; port?: number }>;
}
interface NetworkPolicy {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string };
  spec?: {
    podSelector?: { matchLabels?: Record<string, string> };
    policyTypes?: string[];
    ingress?: Rule[];
    egress?: Rule[];
  };
}

describe('function-pod NetworkPolicy', () => {
  let admin: KubeConfig;
  let ns: Awaited<ReturnType<typeof createTestNamespace>>;
  let all: NetworkPolicy[];
  let policies: NetworkPolicy[];

  before(async () => {
    admin = await adminKubeConfig();
    ns = await createTestNamespace(admin, 'sec-netpol');
    all = renderChart(
      'lamina-system',
      '--set',
      `networkPolicy.functionNamespaces={${ns.name},other-team}`,
    ).filter((o) => o.kind === 'NetworkPolicy') as NetworkPolicy[];
    policies = all.filter((p) => p.metadata?.name === 'lamina-functions');
  });
  after(() => ns?.dispose());

  it('renders one policy per function namespace, selecting environment pods', () => {
    assert.deepEqual(
      policies.map((p) => p.metadata?.namespace),
      [ns.name, 'other-team'],
    );
    for (const p of policies) {
      assert.deepEqual(p.spec?.podSelector?.matchLabels, { 'lamina.dev/environment': 'true' });
      assert.deepEqual(p.spec?.policyTypes, ['Ingress', 'Egress']);
    }
  });

  it('gives warm-pool pods the same rules, selecting lamina.dev/pool', () => {
    const pool = all.filter((p) => p.metadata?.name === 'lamina-pool');
    assert.deepEqual(
      pool.map((p) => p.metadata?.namespace),
      [ns.name, 'other-team'],
    );
    assert.deepEqual(pool[0]!.spec?.podSelector?.matchLabels, { 'lamina.dev/pool': 'true' });
    assert.deepEqual(pool[0]!.spec?.ingress, policies[0]!.spec?.ingress);
    assert.deepEqual(pool[0]!.spec?.egress, policies[0]!.spec?.egress);
  });

  it('admits to the store port only environments, pool pods and the gateway; metrics stay open', () => {
    const store = all.find((p) => p.metadata?.name === 'lamina-store')!;
    assert.equal(store.metadata?.namespace, 'lamina-system');
    assert.equal(store.spec?.podSelector?.matchLabels?.['app.kubernetes.io/component'], 'operator');
    assert.deepEqual(store.spec?.policyTypes, ['Ingress']);
    const [toStore, toMetrics] = store.spec!.ingress!;
    assert.deepEqual(toStore!.ports, [{ protocol: 'TCP', port: 8090 }]);
    assert.deepEqual(
      toStore!.from!.map((peer) => peer.podSelector?.matchLabels),
      [
        { 'lamina.dev/environment': 'true' },
        { 'lamina.dev/pool': 'true' },
        {
          'app.kubernetes.io/part-of': 'lamina',
          'app.kubernetes.io/instance': 'lamina',
          'app.kubernetes.io/component': 'gateway',
        },
      ],
    );
    assert.deepEqual(toMetrics, { ports: [{ protocol: 'TCP', port: 8081 }] });
  });

  it('lets functions reach a DNS server that is not a pod on port 53 only (dnsCIDRs)', () => {
    const rendered = renderChart('lamina-system', '--set', 'networkPolicy.dnsCIDRs={10.88.0.1/32}').find(
      (o) => o.kind === 'NetworkPolicy' && (o as NetworkPolicy).metadata?.name === 'lamina-functions',
    ) as NetworkPolicy;
    const dns = rendered.spec!.egress!.filter((rule) =>
      rule.to?.some((peer) => peer.ipBlock?.cidr === '10.88.0.1/32'),
    );
    assert.equal(dns.length, 1);
    assert.deepEqual(dns[0]!.ports, [
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
    ]);
  });

  it('admits only the gateway, only on the agent port', () => {
    const ingress = policies[0]!.spec!.ingress!;
    assert.equal(ingress.length, 1);
    assert.deepEqual(ingress[0]!.ports, [{ protocol: 'TCP', port: 8080 }]);
    const from = ingress[0]!.from!;
    assert.equal(from.length, 1);
    assert.equal(from[0]!.podSelector?.matchLabels?.['app.kubernetes.io/component'], 'gateway');
    assert.equal(from[0]!.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'], 'lamina-system');
  });

  it('lets functions reach the store port but not the operator metrics, and blocks private ranges', () => {
    const egress = policies[0]!.spec!.egress!;
    const toOperator = egress.filter((rule) =>
      rule.to?.some((peer) => peer.podSelector?.matchLabels?.['app.kubernetes.io/component'] === 'operator'),
    );
    assert.deepEqual(
      toOperator.flatMap((rule) => rule.ports ?? []),
      [{ protocol: 'TCP', port: 8090 }],
    );
    const blocked = new BlockList();
    for (const rule of egress)
      for (const peer of rule.to ?? [])
        for (const cidr of peer.ipBlock?.except ?? []) {
          const [net, prefix] = cidr.split('/');
          blocked.addSubnet(net!, Number(prefix), isIPv4(net!) ? 'ipv4' : 'ipv6');
        }
    // The API server of this control plane, the usual service/pod ranges, cloud metadata.
    const apiServer = new URL(admin.getCurrentCluster()!.server).hostname;
    for (const address of [apiServer, '10.96.0.1', '10.244.1.7', '192.168.1.10', '169.254.169.254']) {
      assert.ok(blocked.check(address, 'ipv4'), `${address} should be blocked`);
    }
    assert.ok(!blocked.check('203.0.113.7', 'ipv4'), 'the internet stays reachable');
  });

  it('is accepted by the API server (server-side dry run)', async () => {
    const api = KubernetesObjectApi.makeApiClient(admin);
    for (const policy of all.filter((p) => p.metadata?.namespace === ns.name)) {
      const created = await api.create(policy, undefined, 'All');
      assert.equal(created.metadata?.namespace, ns.name);
    }
    const store = all.find((p) => p.metadata?.name === 'lamina-store')!;
    const created = await api.create(
      { ...store, metadata: { ...store.metadata, namespace: ns.name } },
      undefined,
      'All',
    );
    assert.equal(created.metadata?.name, 'lamina-store');
  });

  it('renders nothing when disabled', () => {
    const none = renderChart('lamina-system', '--set', 'networkPolicy.enabled=false').filter(
      (o) => o.kind === 'NetworkPolicy',
    );
    assert.equal(none.length, 0);
  });
});
