// The warm pool against a real kube-apiserver (no kubelet: pool pods stay Pending), on a
// manual clock: a namespace with a Function gets its pool pod, loses it after the idle
// period without cold starts, and gets it back on the next cold start.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { POOL_LABELS } from '../../../../operator/src/gateway/pool/pool-pod.js';
import { WarmPool } from '../../../../operator/src/gateway/pool/warm-pool.js';
import { ManualClock } from '../../../../operator/src/shared/clock.js';
import { createLogger } from '../../../../operator/src/shared/log.js';
import { adminKubeConfig, createTestNamespace, waitFor } from '../../../harness/gateway-kube.js';

const IDLE_SECONDS = 600;
const SHAPE = { memorySize: 128, ephemeralStorageSize: 512 };

describe('warm pool sized by demand', () => {
  let kc: KubeConfig;
  let core: CoreV1Api;
  let ns: Awaited<ReturnType<typeof createTestNamespace>>;
  let pool: WarmPool;
  const clock = new ManualClock(Date.now());
  const owner = `pool-test-${process.pid}`;

  const poolPods = async () =>
    (
      await core.listNamespacedPod({
        namespace: ns.name,
        labelSelector: `${POOL_LABELS.pool}=true,${POOL_LABELS.owner}=${owner}`,
      })
    ).items.filter((p) => !p.metadata?.deletionTimestamp);
  const podCount = (n: number) => waitFor(`${n} pool pod(s)`, async () => (await poolPods()).length === n);

  before(async () => {
    kc = await adminKubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    ns = await createTestNamespace(kc, 'pool');
    pool = new WarmPool(
      kc,
      {
        image: 'lamina/runtime:dev',
        size: 1,
        idleNamespaceSeconds: IDLE_SECONDS,
        shapes: [SHAPE],
        namespaces: [ns.name],
        owner,
        // passes are run by hand (or by a cold start), on the manual clock
        reconcileIntervalMs: 3_600_000,
      },
      () => [{ namespace: ns.name }],
      createLogger({}, process.env.DEBUG_POOL ? 'debug' : 'error'),
      clock,
    );
    await pool.start();
  });

  after(async () => {
    await pool?.drain();
    pool?.stop();
    await ns?.dispose();
  });

  it('gives a namespace with a Function its pool pod at once', async () => {
    await podCount(1);
    assert.equal(pool.status()[0]?.target, 1);
  });

  it('deletes the pool pod of a namespace without cold starts for the idle period, counting its idle time', async () => {
    // passes a second apart, as the pool's timer runs them, until its informer has seen the pod
    let elapsed = 0;
    await waitFor('the pool pod counted idle', () => {
      clock.advance(1000);
      elapsed += 1000;
      pool.reconcile();
      return (pool.status()[0]?.idlePodSeconds ?? 0) > 0;
    });
    assert.equal(pool.status()[0]?.target, 1);
    clock.advance(IDLE_SECONDS * 1000 - elapsed);
    await waitFor('the pool pod deleted', async () => {
      pool.reconcile();
      return (await poolPods()).length === 0;
    });
    const [status] = pool.status();
    assert.equal(status?.target, 0);
    assert.ok(
      (status?.idlePodSeconds ?? 0) > IDLE_SECONDS / 2 && (status?.idlePodSeconds ?? 0) <= IDLE_SECONDS,
    );
    assert.ok((status?.podMemoryBytes ?? 0) > SHAPE.memorySize * 1024 * 1024);
  });

  it('brings the pool back on the next cold start, which itself finds no pool pod', async () => {
    assert.equal(pool.take(ns.name, SHAPE), undefined);
    await podCount(1);
    assert.equal(pool.status()[0]?.target, 1);
  });
});
