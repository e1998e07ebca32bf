// A full node, through the installed release: a cold start that no node can hold reclaims idle
// environments of other functions to make room, and when nothing idle could make enough room
// the invoke gets 429 ClusterCapacityExceeded at once (not a 500 after the cold-start timeout).
// Sizes are computed from what this node has free, since pods CPU requests are in proportion to
// memorySize (1,769 MB = 1 vCPU).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { waitFor } from '../harness/gateway-kube.js';
import {
  createFunction,
  installedRelease,
  invokeUrl,
  logTail,
  testNamespace,
  type Release,
} from '../harness/release.js';

const HELLO = 'export const handler = async () => ({ pod: process.env.HOSTNAME });\n';
const MB_PER_VCPU = 1769;

const cpuMillis = (value = '0') =>
  value.endsWith('m') ? Number(value.slice(0, -1)) : Math.round(Number(value) * 1000);

describe('a full node', { timeout: 300_000 }, () => {
  let release: Release;
  let ns: Awaited<ReturnType<typeof testNamespace>>;
  let core: CoreV1Api;

  const invoke = (name: string) =>
    fetch(invokeUrl(release, ns.name, name), {
      method: 'POST',
      body: '{}',
      signal: AbortSignal.timeout(90_000),
    });
  const functionPods = async (fn: string) =>
    (await core.listNamespacedPod({ namespace: ns.name, labelSelector: `lamina.dev/function=${fn}` })).items;
  /** CPU millis the node can still give to new pods. */
  const freeCpu = async () => {
    const node = (await core.listNode()).items[0]!;
    const pods = await core.listPodForAllNamespaces({
      fieldSelector: `spec.nodeName=${node.metadata!.name}`,
    });
    const requested = pods.items
      .filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed')
      .flatMap((p) => p.spec?.containers ?? [])
      .reduce((sum, c) => sum + cpuMillis(c.resources?.requests?.cpu), 0);
    return cpuMillis(node.status?.allocatable?.cpu) - requested;
  };

  before(async () => {
    release = await installedRelease();
    ns = await testNamespace(release, 'capacity');
    core = release.kc.makeApiClient(CoreV1Api);
  });

  after(async () => {
    await ns?.dispose();
  });

  it('answers 429 ClusterCapacityExceeded at once for an environment no node can hold', async () => {
    // 10,240 MB asks for 5.8 vCPU, more than this node has at all: reclaiming cannot help.
    await createFunction(release, ns.name, 'huge', HELLO, { memorySize: 10_240 });
    const res = await invoke('huge');
    const body = await res.text();
    assert.equal(res.status, 429, body);
    assert.equal(res.headers.get('x-amzn-errortype'), 'TooManyRequestsException');
    assert.equal(res.headers.get('retry-after'), '10');
    const error = JSON.parse(body) as { Reason: string; message: string };
    assert.equal(error.Reason, 'ClusterCapacityExceeded');
    assert.match(error.message, /No node has room .* function huge: .*Insufficient cpu/);
    await waitFor(
      'the pending pod to be removed',
      async () => ((await functionPods('huge')).length === 0 ? true : undefined),
      60_000,
      250,
    );
  });

  it('reclaims idle environments of other functions to make room for a new one', async () => {
    // Room for one environment of this size but not two: the second needs room made for it.
    const free = await freeCpu();
    const memorySize = Math.min(10_240, Math.floor((free * 0.7 * MB_PER_VCPU) / 1000));
    assert.ok(memorySize >= 256, `the node has ${free}m CPU free, too little for this test`);
    await createFunction(release, ns.name, 'big-a', HELLO, { memorySize });
    await createFunction(release, ns.name, 'big-b', HELLO, { memorySize });

    const a = await invoke('big-a');
    assert.equal(a.status, 200, await a.text());
    // big-a's environment is idle now and holds the room big-b needs (older idle
    // environments of other functions, if any, go first).
    const b = await invoke('big-b');
    const text = await b.text();
    assert.equal(b.status, 200, `${text}\n${await logTail('lamina-gateway')}`);
    const log = await logTail('lamina-gateway', 400);
    const line = log.split('\n').find((l) => l.includes('reclaiming idle environments to make room'));
    assert.ok(line, `the gateway made room:\n${log}`);
    assert.match(line, new RegExp(`"for":"${ns.name}/big-b-`));
  });
});
