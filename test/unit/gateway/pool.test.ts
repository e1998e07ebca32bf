// The warm pool's pure parts (shapes, plan, manifests) and the provider that puts it behind
// the EnvironmentProvider seam, with a fake pool, a fake specializer and the FakeProvider.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EnvironmentPool } from '../../../operator/src/gateway/environments/environment-pool.js';
import { environmentSpec } from '../../../operator/src/gateway/environments/environment-spec.js';
import { AGENT_MEMORY_MIB, LABELS } from '../../../operator/src/gateway/environments/pod-spec.js';
import type {
  AgentFunctionConfig,
  EnvironmentSpec,
} from '../../../operator/src/gateway/environments/types.js';
import {
  claimPatch,
  poolPod,
  POOL_LABELS,
  POOL_TEMPLATE_ANNOTATION,
} from '../../../operator/src/gateway/pool/pool-pod.js';
import { planPool, type PoolPodView } from '../../../operator/src/gateway/pool/pool-plan.js';
import {
  PooledProvider,
  type ClaimEvent,
  type WarmPoolPort,
} from '../../../operator/src/gateway/pool/pooled-provider.js';
import {
  parseShapes,
  poolShapeFor,
  shapeName,
  shapesOfImage,
  type PoolShape,
} from '../../../operator/src/gateway/pool/shapes.js';
import {
  imageKeyOf,
  imageOf,
  parseImageMap,
} from '../../../operator/src/gateway/environments/runtime-images.js';
import type { Specializer } from '../../../operator/src/gateway/environments/agent-client.js';
import type { GenericEnvironment } from '../../../operator/src/gateway/pool/warm-pool.js';
import { labelValue } from '../../../operator/src/gateway/pool/warm-pool.js';
import { BurstScaler } from '../../../operator/src/gateway/scaling/burst-scaler.js';
import { ConcurrencyLedger } from '../../../operator/src/gateway/scaling/concurrency.js';
import { ManualClock } from '../../../operator/src/shared/clock.js';
import { createLogger } from '../../../operator/src/shared/log.js';
import { FakeProvider, tick } from './fake-provider.js';
import { activeFunction, snapshot } from './fixtures.js';

const log = createLogger({}, 'error');
const settings = { storeUrl: 'http://store', region: 'us-east-1' };
const spec = (name = 'f', overrides: Parameters<typeof snapshot>[0] = {}, namespace = 'default') =>
  environmentSpec(activeFunction(name, {}, namespace), '$LATEST', snapshot(overrides), 'on-demand', settings);
const SHAPE_128: PoolShape = { memorySize: 128, ephemeralStorageSize: 512 };

describe('pool shapes', () => {
  it('parses memory with the default /tmp, explicit /tmp, and drops duplicates', () => {
    assert.deepEqual(parseShapes('128, 512:1024,128:512'), [
      { memorySize: 128, ephemeralStorageSize: 512 },
      { memorySize: 512, ephemeralStorageSize: 1024 },
    ]);
    assert.deepEqual(parseShapes(''), []);
  });

  it("has one shape per runtime image; a function takes only a pool pod of its runtime's image", () => {
    const shapes = ['default', 'java21', 'forky'].flatMap((image) =>
      shapesOfImage([SHAPE_128], image as 'default' | 'java21' | 'forky'),
    );
    assert.deepEqual(shapes.map(shapeName), ['128-512', 'java21-128-512', 'forky-128-512']);
    assert.equal(shapeName(poolShapeFor(spec(), shapes)!), '128-512');
    assert.equal(shapeName(poolShapeFor(spec('f', { runtime: 'java21' }), shapes)!), 'java21-128-512');
    assert.equal(shapeName(poolShapeFor(spec('f', { runtime: 'python3.14' }), shapes)!), 'forky-128-512');
    assert.equal(poolShapeFor(spec('f', { runtime: 'java17' }), shapes), undefined);
  });

  it('maps runtimes to images: configured, or named after the image key', () => {
    assert.equal(imageKeyOf('python3.11'), 'bookworm');
    assert.equal(imageKeyOf('provided.al2023'), 'default');
    const images = parseImageMap('java21=registry.example/lamina/java21:1.0, forky=f:1');
    assert.deepEqual(images, { java21: 'registry.example/lamina/java21:1.0', forky: 'f:1' });
    assert.equal(imageOf('java21', 'lamina/runtime:dev', images), 'registry.example/lamina/java21:1.0');
    assert.equal(imageOf('java17', 'lamina/runtime:dev', images), 'lamina/runtime-java17:dev');
    assert.equal(imageOf('default', 'lamina/runtime:1.0', images), 'lamina/runtime:1.0');
    assert.throws(() => parseImageMap('java8=x'), /"java8=x"/);
  });

  it('refuses a shape outside Lambda limits, naming it', () => {
    assert.throws(() => parseShapes('64'), /"64": memory/);
    assert.throws(() => parseShapes('128:100'), /"128:100": ephemeral/);
    assert.throws(() => parseShapes('big'), /"big"/);
  });

  it('matches a function with the same memory and /tmp and no pod-level identity', () => {
    assert.deepEqual(poolShapeFor(spec(), [SHAPE_128]), SHAPE_128);
    assert.equal(poolShapeFor(spec('f', { memorySize: 256 }), [SHAPE_128]), undefined);
    assert.equal(poolShapeFor(spec('f', { ephemeralStorageSize: 1024 }), [SHAPE_128]), undefined);
    assert.equal(poolShapeFor(spec('f', { serviceAccountName: 'reader' }), [SHAPE_128]), undefined);
    assert.equal(
      poolShapeFor(spec('f', { environment: { secretRefs: [{ name: 's' }] } }), [SHAPE_128]),
      undefined,
    );
  });
});

describe('pool plan', () => {
  const pod = (id: string, over: Partial<PoolPodView> = {}): PoolPodView => ({
    id,
    namespace: 'a',
    shape: '128-512',
    ready: true,
    failed: false,
    outdated: false,
    ...over,
  });

  it('fills every wanted group up to its size', () => {
    const plan = planPool(
      new Map([
        ['a/128-512', 2],
        ['b/128-512', 1],
      ]),
      [pod('a/p1')],
    );
    assert.deepEqual(plan.create, [
      { namespace: 'a', shape: '128-512', count: 1 },
      { namespace: 'b', shape: '128-512', count: 1 },
    ]);
    assert.deepEqual(plan.delete, []);
  });

  it('counts creations not yet visible, so a pass never creates twice', () => {
    const plan = planPool(new Map([['a/128-512', 2]]), [pod('a/p1')], new Map([['a/128-512', 1]]));
    assert.deepEqual(plan.create, []);
  });

  it('replaces failed pods and deletes pods of groups no longer wanted', () => {
    const plan = planPool(new Map([['a/128-512', 1]]), [
      pod('a/p1', { failed: true }),
      pod('b/p2', { namespace: 'b' }),
      pod('a/p3', { shape: '256-512' }),
    ]);
    assert.deepEqual(plan.delete.sort(), ['a/p1', 'a/p3', 'b/p2']);
    assert.deepEqual(plan.create, [{ namespace: 'a', shape: '128-512', count: 1 }]);
  });

  it('replaces pods made from an older template', () => {
    const plan = planPool(new Map([['a/128-512', 2]]), [pod('a/p1', { outdated: true }), pod('a/p2')]);
    assert.deepEqual(plan.delete, ['a/p1']);
    assert.deepEqual(plan.create, [{ namespace: 'a', shape: '128-512', count: 1 }]);
  });

  it('shrinks a group by its pods that are not ready first', () => {
    const plan = planPool(new Map([['a/128-512', 1]]), [pod('a/p1'), pod('a/p2', { ready: false })]);
    assert.deepEqual(plan.delete, ['a/p2']);
  });
});

describe('pool pod manifests', () => {
  it('starts a generic environment: no function, no owner, same hardening as environment pods', () => {
    const pod = poolPod(SHAPE_128, 'team', 'lamina-pool-128m-1', {
      owner: 'gw-1',
      image: 'lamina/runtime:dev',
    });
    assert.equal(pod.metadata?.namespace, 'team');
    assert.equal(pod.metadata?.labels?.[POOL_LABELS.pool], 'true');
    assert.equal(pod.metadata?.labels?.[POOL_LABELS.owner], 'gw-1');
    assert.equal(pod.metadata?.labels?.[POOL_LABELS.shape], '128-512');
    assert.equal(pod.metadata?.labels?.[LABELS.environment], undefined);
    assert.equal(pod.metadata?.ownerReferences, undefined);
    const container = pod.spec!.containers[0]!;
    assert.deepEqual(
      container.env,
      [{ name: 'LAMINA_STANDBY_MEMORY_SIZE', value: '128' }],
      'no LAMINA_FUNCTION: the agent waits generic, with runtimes of its memory size started',
    );
    assert.equal(container.envFrom, undefined);
    assert.deepEqual(container.resources?.limits, { memory: `${128 + AGENT_MEMORY_MIB}Mi` });
    assert.equal(pod.spec?.automountServiceAccountToken, false);
    assert.equal(pod.spec?.serviceAccountName, undefined);
    assert.equal(container.securityContext?.readOnlyRootFilesystem, true);
    assert.equal(pod.spec?.volumes?.find((v) => v.name === 'tmp')?.emptyDir?.sizeLimit, '512Mi');
  });

  it('carries a template digest that changes with the spec and the image revision, not the name', () => {
    const template = (name: string, settings: Parameters<typeof poolPod>[3], shape = SHAPE_128) =>
      poolPod(shape, 'team', name, settings).metadata?.annotations?.[POOL_TEMPLATE_ANNOTATION];
    const base = { owner: 'gw-1', image: 'lamina/runtime:dev' };
    const digest = template('p1', base);
    assert.match(digest ?? '', /^[0-9a-f]{32}$/);
    assert.equal(template('p2', { ...base, owner: 'gw-2' }), digest, 'names and owners do not count');
    assert.notEqual(template('p1', { ...base, image: 'lamina/runtime:1.1' }), digest);
    assert.notEqual(template('p1', { ...base, imageRevision: 'sha256:abc' }), digest);
    assert.notEqual(template('p1', base, { memorySize: 256, ephemeralStorageSize: 512 }), digest);
  });

  it('hands a pool pod to a function version: environment labels, pool labels removed, Function owner', () => {
    const s = spec('calc');
    const patch = claimPatch(s) as {
      metadata: { labels: Record<string, string | null>; ownerReferences: Array<Record<string, unknown>> };
    };
    assert.equal(patch.metadata.labels[POOL_LABELS.pool], null);
    assert.equal(patch.metadata.labels[POOL_LABELS.owner], null);
    assert.equal(patch.metadata.labels[POOL_LABELS.fromPool], 'true');
    assert.equal(patch.metadata.labels[LABELS.environment], 'true');
    assert.equal(patch.metadata.labels[LABELS.function], 'calc');
    assert.equal(patch.metadata.labels[LABELS.version], 'LATEST');
    assert.equal(patch.metadata.labels[LABELS.configHash], s.configHash);
    assert.deepEqual(patch.metadata.ownerReferences, [{ ...s.owner, blockOwnerDeletion: false }]);
  });

  it('makes any owner identity a valid label value', () => {
    assert.equal(labelValue('host.example/123'), 'host.example-123');
    assert.equal(labelValue('-x-'), 'x');
    assert.equal(labelValue('a'.repeat(80)).length, 63);
  });
});

class FakeWarmPool implements WarmPoolPort {
  readonly shapes = [SHAPE_128];
  readonly available: GenericEnvironment[] = [];
  readonly assigned: Array<{ id: string; spec: EnvironmentSpec }> = [];
  readonly discarded: string[] = [];
  failAssign = false;
  async start() {}
  stop() {}
  add(id: string) {
    const [namespace = '', name = ''] = id.split('/');
    this.available.push({ id, namespace, name, shape: '128-512', address: `http://pool/${id}` });
  }
  take(namespace: string) {
    const i = this.available.findIndex((e) => e.namespace === namespace);
    return i < 0 ? undefined : this.available.splice(i, 1)[0];
  }
  async assign(env: GenericEnvironment, s: EnvironmentSpec) {
    if (this.failAssign) throw new Error('patch refused');
    this.assigned.push({ id: env.id, spec: s });
  }
  async discard(env: GenericEnvironment) {
    this.discarded.push(env.id);
  }
  status() {
    return [];
  }
}

class FakeSpecializer implements Specializer {
  readonly calls: Array<{ address: string; config: AgentFunctionConfig }> = [];
  /** Agents specialised once refuse a second time, as the real agent does. */
  readonly specialised = new Set<string>();
  fail: Error | undefined;
  async specialize(address: string, config: AgentFunctionConfig) {
    this.calls.push({ address, config });
    if (this.fail) throw this.fail;
    if (this.specialised.has(address)) throw new Error('409 Lamina.AlreadySpecialized');
    this.specialised.add(address);
    return { state: 'ready' as const, initDurationMs: 1 };
  }
  async close() {}
}

function pooled() {
  const inner = new FakeProvider();
  const warm = new FakeWarmPool();
  const specializer = new FakeSpecializer();
  const provider = new PooledProvider(inner, warm, specializer, log, 5000);
  const claims: ClaimEvent[] = [];
  provider.onClaim((e) => claims.push(e));
  return { inner, warm, specializer, provider, claims };
}

describe('PooledProvider', () => {
  it('serves a pool-shaped cold start from a pool pod: relabelled, specialised with the config, ready', async () => {
    const { inner, warm, specializer, provider, claims } = pooled();
    warm.add('default/lamina-pool-128m-1');
    const s = spec('calc');
    const record = await provider.create(s, 'default/calc-latest-0001');
    assert.equal(record.id, 'default/lamina-pool-128m-1');
    assert.equal(record.ready, true);
    assert.equal(record.address, 'http://pool/default/lamina-pool-128m-1');
    assert.deepEqual(warm.assigned, [{ id: 'default/lamina-pool-128m-1', spec: s }]);
    assert.deepEqual(specializer.calls[0]?.config, s.config);
    assert.equal(inner.created.length, 0, 'no pod created');
    assert.deepEqual(claims, [{ namespace: 'default', shape: '128-512', result: 'hit' }]);
  });

  it('creates a pod when the function has a service account, another shape, or the pool is empty', async () => {
    const { inner, warm, provider, claims } = pooled();
    warm.add('default/lamina-pool-128m-1');
    await provider.create(spec('sa', { serviceAccountName: 'reader' }), 'default/sa-1');
    await provider.create(spec('big', { memorySize: 1024 }), 'default/big-1');
    await provider.create(spec('other', {}, 'elsewhere'), 'elsewhere/other-1');
    assert.deepEqual(inner.created, ['default/sa-1', 'default/big-1', 'elsewhere/other-1']);
    assert.equal(warm.available.length, 1, 'the pool pod is still there');
    assert.deepEqual(claims, [{ namespace: 'elsewhere', shape: '128-512', result: 'empty' }]);
  });

  it('discards a pool pod whose hand-over fails and creates a pod instead', async () => {
    const { inner, warm, specializer, provider, claims } = pooled();
    warm.add('default/lamina-pool-128m-1');
    specializer.fail = new Error('502 Lamina.ArtifactFetchFailed');
    const record = await provider.create(spec('calc'), 'default/calc-latest-0001');
    assert.equal(record.id, 'default/calc-latest-0001');
    assert.deepEqual(warm.discarded, ['default/lamina-pool-128m-1']);
    assert.deepEqual(inner.created, ['default/calc-latest-0001']);
    assert.equal(claims[0]?.result, 'failed');
  });

  it('never specialises one pod for two functions (the agent refuses; the pod is discarded)', async () => {
    const { warm, specializer, provider } = pooled();
    warm.add('default/lamina-pool-128m-1');
    await provider.create(spec('a'), 'default/a-1');
    // A pool that wrongly offered the same pod again: the agent's refusal keeps b out.
    warm.add('default/lamina-pool-128m-1');
    const b = await provider.create(spec('b'), 'default/b-1');
    assert.equal(b.id, 'default/b-1');
    assert.deepEqual(warm.discarded, ['default/lamina-pool-128m-1']);
    assert.equal(specializer.specialised.size, 1);
  });

  it('holds back the pod’s watch events while it is handed over', async () => {
    const { inner, warm, provider } = pooled();
    warm.add('default/lamina-pool-128m-1');
    const seen: string[] = [];
    provider.subscribe((e) => seen.push(e.type === 'delete' ? e.id : e.env.id));
    await provider.start();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    warm.assign = async () => {
      // The relabel's watch event arrives before the specialisation is over.
      inner.records.set('default/lamina-pool-128m-1', {
        id: 'default/lamina-pool-128m-1',
        key: 'k',
        namespace: 'default',
        functionName: 'a',
        version: '$LATEST',
        initializationType: 'on-demand',
        ready: true,
        address: 'http://x',
      });
      inner.markReady('default/lamina-pool-128m-1', 'http://x');
      await gate;
    };
    const created = provider.create(spec('a'), 'default/a-1');
    await tick();
    assert.deepEqual(seen, []);
    assert.deepEqual(provider.list(), []);
    release();
    await created;
    inner.markReady('default/lamina-pool-128m-1', 'http://x');
    assert.deepEqual(seen, ['default/lamina-pool-128m-1']);
  });

  it('lets the EnvironmentPool lease a handed-over pod under its own id, reuse it warm and destroy it', async () => {
    const { inner, warm, provider } = pooled();
    warm.add('default/lamina-pool-128m-1');
    const clock = new ManualClock(1_000_000);
    const pool = new EnvironmentPool(
      provider,
      new ConcurrencyLedger({ namespaceLimit: 1000, unreservedMinimum: 100 }),
      new BurstScaler({ burst: 10, rate: 1, intervalMs: 10_000 }),
      clock,
      log,
      { coldStartTimeoutMs: 5000, idleTimeoutMs: 60_000, maintenanceIntervalMs: 1000 },
    );
    await pool.start();
    const first = await pool.acquire(spec('a'));
    assert.equal(first.coldStart, true);
    assert.equal(first.env.id, 'default/lamina-pool-128m-1');
    assert.equal(first.env.address, 'http://pool/default/lamina-pool-128m-1');
    first.release();
    const second = await pool.acquire(spec('a'));
    assert.equal(second.coldStart, false);
    assert.equal(second.env.id, first.env.id);
    second.release({ broken: true });
    await tick();
    assert.deepEqual(inner.destroyed, ['default/lamina-pool-128m-1']);
    assert.equal(pool.views().length, 0);
    pool.stop();
  });
});
