// spec.network: the schema's refusals (the same predicates the CRD's CEL states) and the
// NetworkPolicy the operator writes from it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { FunctionNetwork, FunctionSpec, type LaminaFunction } from '../../../operator/src/api/index.js';
import {
  functionNetworkPolicy,
  networkPolicySync,
  type NetworkPolicyWriter,
} from '../../../operator/src/controller/network-policy.js';

const fn = (network?: unknown): LaminaFunction =>
  ({
    apiVersion: 'lamina.dev/v1alpha1',
    kind: 'Function',
    metadata: { name: 'orders', namespace: 'shop', uid: 'u-1' },
    spec: FunctionSpec.parse({
      runtime: 'nodejs20.x',
      handler: 'index.handler',
      code: { inline: { 'index.mjs': '' } },
      ...(network === undefined ? {} : { network }),
    }),
  }) as LaminaFunction;

const refusal = (network: unknown) => {
  const parsed = FunctionNetwork.safeParse(network);
  return parsed.success ? undefined : parsed.error.issues.map((i) => i.message).join('; ');
};

describe('spec.network', () => {
  it('accepts CIDRs with exceptions, pod selectors in any namespace, ports and ranges', () => {
    assert.equal(
      refusal({
        egress: [
          { to: [{ cidr: '10.20.0.0/16', except: ['10.20.9.0/24'] }], ports: [{ port: 5432 }] },
          {
            to: [{ podSelector: { app: 'db' }, namespace: 'data' }],
            ports: [{ protocol: 'UDP', port: 9000, endPort: 9010 }],
          },
          { to: [{ cidr: 'fd00::/8' }] },
        ],
      }),
      undefined,
    );
  });

  it('refuses what the CRD refuses', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ egress: [{ to: [{}] }] }, /exactly one of cidr or podSelector/],
      [{ egress: [{ to: [{ cidr: '10.0.0.0/8', podSelector: { a: 'b' } }] }] }, /exactly one/],
      [{ egress: [{ to: [{ podSelector: { a: 'b' }, except: ['10.0.0.0/24'] }] }] }, /except needs cidr/],
      [{ egress: [{ to: [{ cidr: '10.0.0.0/8', namespace: 'x' }] }] }, /namespace needs podSelector/],
      [{ egress: [{ to: [{ cidr: '10.0.0.300/8' }] }] }, /IP range/],
      [{ egress: [{ to: [{ cidr: '10.0.0.0/33' }] }] }, /IP range/],
      [{ egress: [{ to: [{ cidr: '10.0.0.0/8', except: ['nope'] }] }] }, /IP ranges/],
      [{ egress: [{ to: [{ cidr: '0.0.0.0/0' }] }] }, /link-local/],
      [{ egress: [{ to: [{ cidr: '169.254.169.254/32' }] }] }, /link-local/],
      [{ egress: [{ to: [{ cidr: '169.254.10.0/24' }] }] }, /link-local/],
      [{ egress: [{ to: [{ cidr: '10.0.0.0/8' }], ports: [{ port: 80, endPort: 79 }] }] }, /endPort/],
      [{ egress: [{ to: [] }] }, /./],
    ];
    for (const [network, message] of cases)
      assert.match(refusal(network) ?? 'accepted', message, JSON.stringify(network));
  });

  it('becomes one egress policy selecting the function’s environments, owned by the Function', () => {
    const policy = functionNetworkPolicy(
      fn({
        egress: [
          { to: [{ cidr: '10.20.0.0/16', except: ['10.20.9.0/24'] }], ports: [{ port: 5432 }] },
          { to: [{ podSelector: { app: 'db' }, namespace: 'data' }, { podSelector: { app: 'cache' } }] },
          { to: [{ cidr: '192.0.2.0/24' }], ports: [{ protocol: 'UDP', port: 9000, endPort: 9010 }] },
        ],
      }),
    )!;
    assert.equal(policy.metadata?.name, 'lamina-fn-orders');
    assert.equal(policy.metadata?.namespace, 'shop');
    assert.deepEqual(policy.metadata?.ownerReferences?.[0], {
      apiVersion: 'lamina.dev/v1alpha1',
      kind: 'Function',
      name: 'orders',
      uid: 'u-1',
      controller: true,
      blockOwnerDeletion: true,
    });
    assert.deepEqual(policy.spec, {
      podSelector: { matchLabels: { 'lamina.dev/environment': 'true', 'lamina.dev/function': 'orders' } },
      policyTypes: ['Egress'],
      egress: [
        {
          to: [{ ipBlock: { cidr: '10.20.0.0/16', except: ['10.20.9.0/24'] } }],
          ports: [{ protocol: 'TCP', port: 5432 }],
        },
        {
          to: [
            {
              podSelector: { matchLabels: { app: 'db' } },
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'data' } },
            },
            { podSelector: { matchLabels: { app: 'cache' } } },
          ],
        },
        {
          to: [{ ipBlock: { cidr: '192.0.2.0/24' } }],
          ports: [{ protocol: 'UDP', port: 9000, endPort: 9010 }],
        },
      ],
    });
  });

  it('writes nothing for a function without rules, and removes a policy once', async () => {
    assert.equal(functionNetworkPolicy(fn()), undefined);
    assert.equal(functionNetworkPolicy(fn({ egress: [] })), undefined);
    const calls: string[] = [];
    const writer: NetworkPolicyWriter = {
      apply: async (p: V1NetworkPolicy) => void calls.push(`apply ${p.metadata?.name}`),
      remove: async (ns, name) => void calls.push(`remove ${ns}/${name}`),
    };
    const sync = networkPolicySync(writer);
    const withRules = fn({ egress: [{ to: [{ cidr: '10.0.0.0/8' }] }] });
    await sync(withRules);
    await sync(withRules);
    await sync(fn());
    await sync(fn());
    await sync(withRules);
    await sync(fn());
    assert.deepEqual(calls, [
      'apply lamina-fn-orders',
      'apply lamina-fn-orders',
      'remove shop/lamina-fn-orders',
      'apply lamina-fn-orders',
      'remove shop/lamina-fn-orders',
    ]);
  });
});
