import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServiceException, TooManyRequestsException } from '../../../../operator/src/errors.js';
import {
  EnvironmentPool,
  FunctionMovedError,
  type PoolScope,
} from '../../../../operator/src/gateway/environments/environment-pool.js';
import { environmentSpec } from '../../../../operator/src/gateway/environments/environment-spec.js';
import { environmentRecord } from '../../../../operator/src/gateway/environments/types.js';
import { BurstScaler } from '../../../../operator/src/gateway/scaling/burst-scaler.js';
import { ConcurrencyLedger } from '../../../../operator/src/gateway/scaling/concurrency.js';
import { ManualClock } from '../../../../operator/src/shared/clock.js';
import { createLogger } from '../../../../operator/src/shared/log.js';
import { activeFunction, snapshot } from '../fixtures.js';
import { FakeProvider, tick } from '../fake-provider.js';

const settings = { storeUrl: 'http://store', region: 'us-east-1' };
const spec = (name = 'f', version = '$LATEST') =>
  environmentSpec(activeFunction(name), version, snapshot(), 'on-demand', settings);

function setup(
  opts: {
    burst?: number;
    rate?: number;
    intervalMs?: number;
    provider?: FakeProvider;
    clusterAutoscaler?: boolean;
    coldStartTimeoutMs?: number;
    scope?: PoolScope;
  } = {},
) {
  const clock = new ManualClock(1_000_000);
  const provider = opts.provider ?? new FakeProvider();
  const ledger = new ConcurrencyLedger({ namespaceLimit: 1000, unreservedMinimum: 100 });
  const scaler = new BurstScaler({
    burst: opts.burst ?? 100,
    rate: opts.rate ?? 10,
    intervalMs: opts.intervalMs ?? 10_000,
  });
  const pool = new EnvironmentPool(
    provider,
    ledger,
    scaler,
    clock,
    createLogger({}, 'error'),
    {
      coldStartTimeoutMs: opts.coldStartTimeoutMs ?? 5000,
      idleTimeoutMs: 60_000,
      maintenanceIntervalMs: 1000,
      clusterAutoscaler: opts.clusterAutoscaler ?? false,
    },
    {},
    opts.scope,
  );
  return { clock, provider, ledger, scaler, pool };
}

describe('EnvironmentPool', () => {
  it('starts an environment on the first invoke and reuses it warm on the next', async () => {
    const { pool, provider } = setup();
    await pool.start();
    const first = await pool.acquire(spec());
    assert.equal(first.coldStart, true);
    first.release();
    const second = await pool.acquire(spec());
    assert.equal(second.coldStart, false);
    assert.equal(second.env.id, first.env.id);
    assert.equal(provider.created.length, 1);
  });

  it('runs one invocation per environment: a second concurrent invoke gets its own', async () => {
    const { pool, provider } = setup();
    await pool.start();
    const [a, b] = await Promise.all([pool.acquire(spec()), pool.acquire(spec())]);
    assert.notEqual(a.env.id, b.env.id);
    assert.equal(provider.created.length, 2);
  });

  it('throttles the 3rd concurrent invoke when reserved is 2', async () => {
    const { pool, ledger } = setup();
    ledger.setFunction('default', 'f', { reserved: 2, provisioned: 0, order: 'a' });
    await pool.start();
    await pool.acquire(spec());
    await pool.acquire(spec());
    await assert.rejects(
      pool.acquire(spec()),
      (e: unknown) =>
        e instanceof TooManyRequestsException &&
        e.reason === 'ReservedFunctionConcurrentInvocationLimitExceeded',
    );
  });

  it('waits for a larger part of the unreserved pool when its own is used up, and throttles when none comes', async () => {
    let grant = 1;
    const asked: number[] = [];
    const scope: PoolScope = {
      serves: () => true,
      activity: () => Promise.resolve('idle'),
      moreUnreserved: (_namespace, deadline) => {
        asked.push(deadline);
        if (grant >= 2) return Promise.resolve(false); // another replica holds the rest
        grant = 2;
        return Promise.resolve(true);
      },
    };
    const { pool, ledger } = setup({ scope });
    ledger.setUnreservedGrants(() => grant);
    await pool.start();
    await pool.acquire(spec());
    await pool.acquire(spec()); // admitted once the grant grew
    await assert.rejects(
      pool.acquire(spec()),
      (e: unknown) =>
        e instanceof TooManyRequestsException && e.reason === 'ConcurrentInvocationLimitExceeded',
    );
    assert.equal(asked.length, 2);
    assert.equal(ledger.unreservedOnDemand('default').used, 2);
  });

  it('allows a burst of 10 then 1 per 6 s, and 429s at once in between', async () => {
    const { pool, clock, ledger } = setup({ burst: 10, rate: 1, intervalMs: 6000 });
    await pool.start();
    const leases = await Promise.all(Array.from({ length: 10 }, () => pool.acquire(spec())));
    assert.equal(leases.length, 10);
    await assert.rejects(
      pool.acquire(spec()),
      (e: unknown) =>
        e instanceof TooManyRequestsException &&
        e.reason === 'FunctionInvocationRateLimitExceeded' &&
        e.retryAfterSeconds === 6,
    );
    assert.equal(ledger.concurrentExecutions('default', 'f'), 10, 'a throttled start holds no concurrency');
    clock.advance(6000);
    assert.equal((await pool.acquire(spec())).coldStart, true);
    // A warm environment needs no scaling token.
    leases[0]!.release();
    assert.equal((await pool.acquire(spec())).coldStart, false);
  });

  it('reclaims idle environments after the idle timeout, down to zero', async () => {
    const { pool, clock, provider } = setup();
    await pool.start();
    const lease = await pool.acquire(spec());
    lease.release();
    clock.advance(59_000);
    assert.equal(pool.views().length, 1);
    clock.advance(2000);
    await tick();
    assert.equal(pool.views().length, 0);
    assert.deepEqual(provider.destroyed, [lease.env.id]);
  });

  it('never reclaims a busy environment', async () => {
    const { pool, clock } = setup();
    await pool.start();
    await pool.acquire(spec());
    clock.advance(600_000);
    assert.equal(pool.views().length, 1);
  });

  it('keeps provisioned environments, uses them first and spills over to on-demand', async () => {
    const { pool, clock, provider, ledger } = setup();
    await pool.start();
    const provisionedSpec = environmentSpec(
      activeFunction('f'),
      '1',
      snapshot(),
      'provisioned-concurrency',
      settings,
    );
    ledger.setFunction('default', 'f', { provisioned: 2, order: 'a' });
    pool.setProvisioned([{ spec: provisionedSpec, count: 2 }]);
    await tick();
    assert.deepEqual(pool.provisionedCount(provisionedSpec.key), { ready: 2, total: 2 });
    assert.equal(
      provider.specs.get(provider.created[0]!)?.config.initializationType,
      'provisioned-concurrency',
    );
    const onDemandSpec = environmentSpec(activeFunction('f'), '1', snapshot(), 'on-demand', settings);
    assert.equal(onDemandSpec.key, provisionedSpec.key);
    const a = await pool.acquire(onDemandSpec);
    const b = await pool.acquire(onDemandSpec);
    const c = await pool.acquire(onDemandSpec);
    assert.deepEqual([a.kind, b.kind, c.kind], ['provisioned', 'provisioned', 'on-demand']);
    assert.equal(c.spillover, true);
    assert.equal(c.coldStart, true);
    a.release();
    b.release();
    clock.advance(3_600_000);
    await tick();
    assert.equal(pool.provisionedCount(provisionedSpec.key).ready, 2, 'provisioned are never reclaimed');
  });

  it('replaces a crashed provisioned environment', async () => {
    const { pool, clock, provider } = setup();
    await pool.start();
    const provisionedSpec = environmentSpec(
      activeFunction('f'),
      '1',
      snapshot(),
      'provisioned-concurrency',
      settings,
    );
    pool.setProvisioned([{ spec: provisionedSpec, count: 1 }]);
    await tick();
    const [first] = provider.created;
    provider.vanish(first!);
    clock.advance(1000);
    await tick();
    assert.equal(provider.created.length, 2);
    assert.deepEqual(pool.provisionedCount(provisionedSpec.key), { ready: 1, total: 1 });
  });

  it('fails a cold invoke whose environment does not become ready in time, releasing its concurrency', async () => {
    const provider = new FakeProvider();
    provider.autoReady = false;
    const { pool, clock, ledger } = setup({ provider });
    await pool.start();
    const pending = pool.acquire(spec());
    await tick();
    clock.advance(5000);
    await assert.rejects(pending, ServiceException);
    assert.equal(ledger.concurrentExecutions('default', 'f'), 0);
    assert.equal(provider.destroyed.length, 1);
  });

  it('fails a cold invoke at once when its environment cannot start', async () => {
    const provider = new FakeProvider();
    provider.autoReady = false;
    const { pool } = setup({ provider });
    await pool.start();
    const pending = pool.acquire(spec());
    await tick();
    provider.fail(provider.created[0]!, 'ImagePullBackOff');
    await assert.rejects(pending, /ImagePullBackOff/);
  });

  it('adopts the environments that exist when it starts', async () => {
    const s = spec();
    const provider = new FakeProvider([
      {
        id: 'default/f-latest-1',
        key: s.key,
        namespace: 'default',
        functionName: 'f',
        version: '$LATEST',
        initializationType: 'on-demand',
        ready: true,
        address: 'http://fake/1',
      },
    ]);
    const { pool } = setup({ provider });
    await pool.start();
    const lease = await pool.acquire(s);
    assert.equal(lease.coldStart, false);
    assert.equal(lease.env.id, 'default/f-latest-1');
    assert.equal(provider.created.length, 0);
  });

  describe('environments adopted with a shard (several replicas)', () => {
    /** f's environment, ready, found when the pool starts; its agent answers when told to. */
    async function adopted() {
      const s = spec();
      const provider = new FakeProvider([
        environmentRecord(s, 'default/f-latest-1', { ready: true, address: 'http://fake/1' }),
      ]);
      let answer: (activity: 'busy' | 'idle') => void = () => undefined;
      const scope: PoolScope = {
        serves: () => true,
        activity: () => new Promise((resolve) => (answer = resolve)),
      };
      const t = setup({ provider, scope });
      await t.pool.start();
      return { ...t, s, answer: (activity: 'busy' | 'idle') => answer(activity) };
    }

    it('an invoke waits for an adopted environment to say it is free instead of starting another', async () => {
      const { pool, provider, s, answer } = await adopted();
      const pending = pool.acquire(s);
      await tick();
      assert.equal(provider.created.length, 0, 'no new environment while the adopted one is asked');
      answer('idle');
      const lease = await pending;
      assert.equal(lease.env.id, 'default/f-latest-1');
      assert.equal(lease.coldStart, false);
    });

    it('invokes waiting meanwhile wait for every adopted environment to answer, not the first', async () => {
      const s = spec();
      const provider = new FakeProvider([
        environmentRecord(s, 'default/f-latest-1', { ready: true, address: 'http://fake/1' }),
        environmentRecord(s, 'default/f-latest-2', { ready: true, address: 'http://fake/2' }),
      ]);
      const answers = new Map<string, (activity: 'busy' | 'idle') => void>();
      const scope: PoolScope = {
        serves: () => true,
        activity: (address) => new Promise((resolve) => answers.set(address, resolve)),
      };
      const { pool } = setup({ provider, scope });
      await pool.start();
      const waiting = [pool.acquire(s), pool.acquire(s)];
      await tick();
      answers.get('http://fake/1')!('idle');
      await tick();
      await tick();
      assert.equal(provider.created.length, 0, 'the second waits for the other adopted environment');
      answers.get('http://fake/2')!('idle');
      const leases = await Promise.all(waiting);
      assert.deepEqual(leases.map((l) => l.env.id).sort(), ['default/f-latest-1', 'default/f-latest-2']);
      assert.equal(provider.created.length, 0);
    });

    it('starts a new environment when the adopted one is busy, or does not answer within a second', async () => {
      const busy = await adopted();
      const first = busy.pool.acquire(busy.s);
      await tick();
      busy.answer('busy'); // still running an invocation its previous replica started
      await tick();
      await tick();
      assert.equal(busy.provider.created.length, 1);
      assert.equal((await first).coldStart, true);

      const silent = await adopted();
      const second = silent.pool.acquire(silent.s);
      await tick();
      assert.equal(silent.provider.created.length, 0);
      silent.clock.advance(1000);
      await tick();
      await tick();
      assert.equal(silent.provider.created.length, 1);
      assert.equal((await second).coldStart, true);
    });

    it('an invoke whose new environment has no room takes the adopted one once its agent says it is free', async () => {
      const busy = await adopted();
      const pending = busy.pool.acquire(busy.s);
      await tick();
      busy.answer('busy'); // its previous replica's invocation: a new one is started
      await tick();
      await tick();
      busy.provider.autoReady = false;
      const id = busy.provider.created.at(-1);
      assert.ok(id);
      // (the new one was ready at once: the pending invoke has it; a second one finds no room)
      const first = await pending;
      const second = busy.pool.acquire(busy.s);
      await tick();
      busy.provider.unschedulable(busy.provider.created.at(-1)!);
      await tick();
      busy.clock.advance(250); // the next probe of the adopted environment: free now
      await tick();
      busy.answer('idle');
      const lease = await second;
      assert.equal(lease.env.id, 'default/f-latest-1');
      first.release();
    });
  });

  describe('an environment whose agent refuses an invoke as busy (several replicas)', () => {
    /** f's environment, adopted idle; later activity probes answer from `answers` (throw when empty). */
    async function adoptedIdle() {
      const s = spec();
      const provider = new FakeProvider([
        environmentRecord(s, 'default/f-latest-1', { ready: true, address: 'http://fake/1' }),
      ]);
      const answers: Array<'busy' | 'idle'> = ['idle'];
      const scope: PoolScope = {
        serves: () => true,
        activity: () => {
          const next = answers.shift();
          return next ? Promise.resolve(next) : Promise.reject(new Error('headers timeout'));
        },
      };
      const t = setup({ provider, scope });
      await t.pool.start();
      await tick();
      return { ...t, s, answers };
    }

    it('keeps it, busy, until its agent says it is free; the invoke takes another', async () => {
      const t = await adoptedIdle();
      const lease = await t.pool.acquire(t.s);
      assert.equal(lease.env.id, 'default/f-latest-1');
      t.answers.push('busy');
      lease.release({ busyElsewhere: true });
      await tick();
      const other = await t.pool.acquire(t.s);
      assert.equal(other.coldStart, true, 'the refusing environment is not taken again while busy');
      assert.deepEqual(t.provider.destroyed, [], 'nor destroyed: it runs someone else’s invocation');
      other.release();
      t.answers.push('idle');
      t.clock.advance(250);
      await tick();
      await tick();
      const again = await t.pool.acquire(t.s);
      assert.equal(again.coldStart, false);
    });

    it('counts an adopted environment that does not answer as busy for a few polls, then as free', async () => {
      const t = await adoptedIdle();
      const lease = await t.pool.acquire(t.s);
      lease.release({ busyElsewhere: true }); // every probe from now on fails: the first now
      await tick();
      for (let poll = 2; poll <= 7; poll++) {
        t.clock.advance(250);
        await tick();
        await tick();
      }
      const meanwhile = await t.pool.acquire(t.s);
      assert.equal(meanwhile.coldStart, true, 'still counted busy after 7 unanswered polls');
      meanwhile.release();
      t.clock.advance(250);
      await tick();
      await tick();
      const leases = [await t.pool.acquire(t.s), await t.pool.acquire(t.s)];
      assert.deepEqual(
        leases.map((l) => l.coldStart),
        [false, false],
        'after the eighth, both environments are free',
      );
    });
  });

  it('destroys environments that run an old configuration', async () => {
    const { pool, provider } = setup();
    await pool.start();
    const old = await pool.acquire(spec());
    old.release();
    pool.retireStale(() => false);
    assert.deepEqual(provider.destroyed, [old.env.id]);
  });

  it('destroys a broken environment instead of reusing it', async () => {
    const { pool, provider } = setup();
    await pool.start();
    const lease = await pool.acquire(spec());
    lease.release({ broken: true });
    assert.deepEqual(provider.destroyed, [lease.env.id]);
    assert.equal((await pool.acquire(spec())).coldStart, true);
  });

  describe('when no node has room for a new environment', () => {
    /** `g` and `h` are warm and idle (h used last); the provider leaves new pods pending. */
    async function fullCluster(clusterAutoscaler = false) {
      const t = setup({ clusterAutoscaler });
      await t.pool.start();
      for (const name of ['g', 'h']) {
        (await t.pool.acquire(spec(name))).release();
        t.clock.advance(1000);
      }
      t.provider.autoReady = false;
      return t;
    }

    it('reclaims the least recently used idle environment of another function, then starts', async () => {
      const { pool, provider } = await fullCluster();
      const [g] = [...provider.records.values()].filter((r) => r.functionName === 'g');
      const pending = pool.acquire(spec('f'));
      await tick();
      const id = provider.created.at(-1)!;
      provider.unschedulable(id);
      await tick();
      assert.deepEqual(provider.destroyed, [g!.id], "g's idle environment (used before h's) made room");
      provider.markReady(id); // the scheduler placed it in the room made
      const lease = await pending;
      assert.equal(lease.env.id, id);
      assert.equal(lease.coldStart, true);
    });

    it('answers 429 ClusterCapacityExceeded at once when nothing idle can make room', async () => {
      const { pool, provider } = setup();
      await pool.start();
      provider.autoReady = false;
      const pending = pool.acquire(spec('f'));
      await tick();
      provider.unschedulable(provider.created.at(-1)!);
      await assert.rejects(
        pending,
        (e: unknown) =>
          e instanceof TooManyRequestsException &&
          e.reason === 'ClusterCapacityExceeded' &&
          e.retryAfterSeconds === 10 &&
          /Insufficient cpu/.test(e.message),
      );
      assert.deepEqual(provider.destroyed, provider.created, 'the pending pod is removed');
    });

    it('refuses new environments of that size at once for a while, without creating pods, until room is freed', async () => {
      const t = setup();
      await t.pool.start();
      t.provider.autoReady = false;
      const first = t.pool.acquire({ ...spec('f'), config: { ...spec('f').config, memorySize: 256 } });
      const refused = assert.rejects(first, (e: unknown) => e instanceof TooManyRequestsException);
      await tick();
      t.provider.unschedulable(t.provider.created.at(-1)!);
      await refused;
      await tick(); // the refused pending pod is removed: that frees no room
      t.clock.advance(2000);
      const created = t.provider.created.length;

      const big = { ...spec('h'), config: { ...spec('h').config, memorySize: 512 } };
      await assert.rejects(
        t.pool.acquire(big),
        (e: unknown) =>
          e instanceof TooManyRequestsException &&
          e.reason === 'ClusterCapacityExceeded' &&
          e.retryAfterSeconds === 8 &&
          /Insufficient cpu/.test(e.message),
      );
      assert.equal(t.provider.created.length, created, 'no pod created for a refused cold start');
      // A smaller environment may still fit: it is tried.
      void t.pool
        .acquire({ ...spec('s'), config: { ...spec('s').config, memorySize: 128 } })
        .catch(() => undefined);
      await tick();
      assert.equal(t.provider.created.length, created + 1, 'a smaller environment is tried');

      // Time passes: tried again.
      t.clock.advance(8000);
      void t.pool.acquire(big).catch(() => undefined);
      await tick();
      assert.equal(t.provider.created.length, created + 2, 'tried again after the retry-after time');
    });

    it('starts a new refusal window from the size refused now once the last one expired', async () => {
      const t = setup({ coldStartTimeoutMs: 60_000 });
      await t.pool.start();
      t.provider.autoReady = false;
      const sized = (name: string, memorySize: number) => ({
        ...spec(name),
        config: { ...spec(name).config, memorySize },
      });
      // A 512 MB cold start waits for its pod; meanwhile a 128 MB one finds no room.
      const large = t.pool.acquire(sized('large', 512));
      const largeRefused = assert.rejects(large, (e: unknown) => e instanceof TooManyRequestsException);
      await tick();
      const largePod = t.provider.created.at(-1)!;
      const small = t.pool.acquire(sized('small', 128));
      const smallRefused = assert.rejects(small, (e: unknown) => e instanceof TooManyRequestsException);
      await tick();
      t.provider.unschedulable(t.provider.created.at(-1)!);
      await smallRefused;
      t.clock.advance(10_000); // the 128 MB window has expired
      t.provider.unschedulable(largePod);
      await largeRefused;
      await tick();
      const created = t.provider.created.length;
      void t.pool.acquire(sized('mid', 256)).catch(() => undefined);
      await tick();
      assert.equal(t.provider.created.length, created + 1, 'a 256 MB environment is tried, not refused');
    });

    it('tries again as soon as a placed environment is removed', async () => {
      const t = setup();
      await t.pool.start();
      const g = await t.pool.acquire(spec('g')); // busy: cannot be reclaimed
      t.provider.autoReady = false;
      const first = t.pool.acquire(spec('f'));
      await tick();
      t.provider.unschedulable(t.provider.created.at(-1)!);
      await assert.rejects(first, (e: unknown) => e instanceof TooManyRequestsException);
      await tick();
      await assert.rejects(t.pool.acquire(spec('f')), (e: unknown) => e instanceof TooManyRequestsException);
      const created = t.provider.created.length;
      g.release({ broken: true }); // its pod is deleted, and its room freed
      await tick();
      void t.pool.acquire(spec('f')).catch(() => undefined);
      await tick();
      assert.equal(t.provider.created.length, created + 1);
    });

    it('reclaims at most three environments for one, then throttles', async () => {
      const t = setup({ coldStartTimeoutMs: 60_000 });
      await t.pool.start();
      for (const name of ['a', 'b', 'c', 'd']) (await t.pool.acquire(spec(name))).release();
      t.provider.autoReady = false;
      const pending = t.pool.acquire(spec('f'));
      await tick();
      const id = t.provider.created.at(-1)!;
      const rejected = assert.rejects(
        pending,
        (e: unknown) => e instanceof TooManyRequestsException && e.reason === 'ClusterCapacityExceeded',
      );
      t.provider.unschedulable(id);
      for (let i = 0; i < 3; i++) {
        await tick();
        t.clock.advance(2000); // the scheduler still finds no room after each reclaim
      }
      await rejected;
      assert.equal(t.provider.destroyed.filter((d) => d !== id).length, 3);
    });

    it('with a cluster autoscaler, waits for a node and names the pending pod at the timeout', async () => {
      const { pool, provider, clock } = setup({ clusterAutoscaler: true });
      await pool.start();
      provider.autoReady = false;
      const pending = pool.acquire(spec('f'));
      await tick();
      const id = provider.created.at(-1)!;
      provider.unschedulable(id);
      await tick();
      assert.deepEqual(provider.destroyed, [], 'still waiting for a node');
      clock.advance(5000);
      await assert.rejects(
        pending,
        (e: unknown) =>
          e instanceof ServiceException && e.message.includes(`pod ${id} is waiting for a node`),
      );
    });
  });

  describe("when a new environment cannot start but the function's own are busy", () => {
    /** `f` has one environment, busy; new pods stay pending. */
    async function oneBusy() {
      const t = setup();
      await t.pool.start();
      const busy = await t.pool.acquire(spec('f'));
      t.provider.autoReady = false;
      return { ...t, busy };
    }

    /**
     * An invoke of f whose new pod is still starting when f's busy environment is released: that
     * one serves it (`lease`); its pod (`spare`) goes on starting for nobody.
     */
    async function servedBeforeItsPod(t: Awaited<ReturnType<typeof oneBusy>>) {
      const pending = t.pool.acquire(spec('f'));
      await tick();
      const spare = t.provider.created.at(-1)!;
      t.busy.release();
      return { spare, lease: await pending };
    }

    it('an invoke refused room takes the busy environment once it is released, not a 429', async () => {
      const { pool, provider, ledger, busy } = await oneBusy();
      const pending = pool.acquire(spec('f'));
      await tick();
      provider.unschedulable(provider.created.at(-1)!);
      await tick();
      assert.equal(ledger.concurrentExecutions('default', 'f'), 2, 'it still holds its concurrency');
      busy.release();
      const lease = await pending;
      assert.equal(lease.env.id, busy.env.id);
      assert.equal(lease.coldStart, false);
      assert.deepEqual(provider.destroyed, [provider.created.at(-1)], 'the pending pod is removed');

      // While the cluster is known to be full, the next one waits at once, creating no pod.
      const created = provider.created.length;
      const next = pool.acquire(spec('f'));
      await tick();
      assert.equal(provider.created.length, created, 'no pod created');
      lease.release();
      assert.equal((await next).env.id, busy.env.id);
    });

    it('an invoke waiting for its cold start takes a busy one released first; the new one becomes a spare', async () => {
      const t = await oneBusy();
      const { pool, provider, busy } = t;
      const { spare, lease } = await servedBeforeItsPod(t);
      assert.equal(lease.env.id, busy.env.id);
      assert.equal(lease.coldStart, false);
      provider.markReady(spare);
      await tick();
      const next = await pool.acquire(spec('f'));
      assert.equal(next.env.id, spare, 'the spare is idle, and used');
      assert.equal(next.coldStart, false);
    });

    it('a spare no node has room for is removed, and new invokes wait for a release without creating pods', async () => {
      const t = await oneBusy();
      const { pool, provider, busy } = t;
      const { spare, lease } = await servedBeforeItsPod(t);
      provider.unschedulable(spare);
      await tick();
      assert.deepEqual(provider.destroyed, [spare]);
      const created = provider.created.length;
      const next = pool.acquire(spec('f'));
      await tick();
      assert.equal(provider.created.length, created, 'the cluster is known to be full: no new pod');
      lease.release();
      assert.equal((await next).env.id, busy.env.id);
    });

    it("a spare no node has room for takes no other function's idle environment", async () => {
      const t = await oneBusy();
      const { pool, provider, clock } = t;
      provider.autoReady = true;
      (await pool.acquire(spec('g'))).release(); // g: idle, reclaimable
      clock.advance(1000);
      provider.autoReady = false;
      const g = provider.created.at(-1)!;
      const { spare } = await servedBeforeItsPod(t);
      provider.unschedulable(spare);
      await tick();
      assert.deepEqual(provider.destroyed, [spare], `g's environment ${g} stays`);
    });

    it('while the node is known full, a cold start that idle environments can make room for is tried', async () => {
      const t = setup();
      await t.pool.start();
      const sized = (name: string, memorySize: number) => ({
        ...spec(name),
        config: { ...spec(name).config, memorySize },
      });
      // The node is known full for 256 MB: a cold start nothing could make room for got a 429.
      t.provider.autoReady = false;
      const refused = t.pool.acquire(sized('f', 256));
      await tick();
      t.provider.unschedulable(t.provider.created.at(-1)!);
      await assert.rejects(refused, TooManyRequestsException);
      // Two idle 128 MB environments of other functions appear (smaller: still tried).
      t.provider.autoReady = true;
      for (const name of ['g1', 'g2']) (await t.pool.acquire(sized(name, 128))).release();
      t.provider.autoReady = false;
      const created = t.provider.created.length;
      void t.pool.acquire(sized('k', 256)).catch(() => undefined);
      await tick();
      assert.equal(t.provider.created.length, created + 1, 'tried: they can make its room');
    });

    it('an invoke that finds no idle environment takes a starting spare instead of another pod', async () => {
      const t = await oneBusy();
      const { pool, provider } = t;
      const { spare, lease: served } = await servedBeforeItsPod(t); // the spare: still starting
      const created = provider.created.length;
      const next = pool.acquire(spec('f'));
      await tick();
      assert.equal(provider.created.length, created, 'no new pod: the spare is its cold start');
      provider.markReady(spare);
      const lease = await next;
      assert.equal(lease.env.id, spare);
      assert.equal(lease.coldStart, true);
      served.release();
    });

    it('a spare that never becomes ready is removed at its cold-start deadline', async () => {
      const t = await oneBusy();
      const { provider, clock } = t;
      const { spare } = await servedBeforeItsPod(t);
      clock.advance(5000);
      assert.deepEqual(provider.destroyed, [spare]);
    });

    it('an invoke whose new environment failed takes the busy one once it is released', async () => {
      const { pool, provider, busy } = await oneBusy();
      const pending = pool.acquire(spec('f'));
      await tick();
      provider.fail(provider.created.at(-1)!, 'container exited (Error)');
      await tick();
      busy.release();
      assert.equal((await pending).env.id, busy.env.id);
    });

    it('waiting invokes take released environments in arrival order, each its own', async () => {
      const { pool, provider, busy } = await oneBusy();
      const first = pool.acquire(spec('f'));
      await tick();
      provider.unschedulable(provider.created.at(-1)!);
      await tick();
      const second = pool.acquire(spec('f'));
      let secondDone = false;
      void second.then(() => (secondDone = true));
      await tick();
      busy.release();
      const a = await first;
      await tick();
      assert.equal(secondDone, false, 'one release serves one invoke');
      a.release();
      assert.equal((await second).env.id, busy.env.id);
    });

    it('still answers the 429 when nothing is released by the cold-start deadline', async () => {
      const { pool, provider, clock, ledger } = await oneBusy();
      const pending = pool.acquire(spec('f'));
      await tick();
      provider.unschedulable(provider.created.at(-1)!);
      await tick();
      clock.advance(5000);
      await assert.rejects(
        pending,
        (e: unknown) => e instanceof TooManyRequestsException && e.reason === 'ClusterCapacityExceeded',
      );
      assert.equal(ledger.concurrentExecutions('default', 'f'), 1, 'only the busy one is counted');
    });

    it('counts the invokes waiting for an environment, per function, apart from those running', async () => {
      const { pool, provider } = await oneBusy();
      const starting = pool.acquire(spec('g')); // its own cold start, pending
      await tick();
      const displaced = pool.acquire(spec('f'));
      await tick();
      provider.unschedulable(provider.created.at(-1)!);
      await tick();
      assert.equal(
        pool.waitingForEnvironment(() => true),
        2,
      );
      assert.equal(
        pool.waitingForEnvironment((_ns, fn) => fn === 'f'),
        1,
        "f's busy one is not counted",
      );
      pool.forget(() => true);
      await assert.rejects(displaced, FunctionMovedError);
      await assert.rejects(starting, FunctionMovedError);
      assert.equal(
        pool.waitingForEnvironment(() => true),
        0,
      );
    });

    it('a waiting invoke follows its function when the function moves to another replica', async () => {
      const { pool, provider } = await oneBusy();
      const pending = pool.acquire(spec('f'));
      await tick();
      provider.unschedulable(provider.created.at(-1)!);
      await tick();
      pool.forget((_ns, fn) => fn === 'f');
      await assert.rejects(pending, FunctionMovedError);
    });
  });
});

describe('EnvironmentPool: environments adopted while starting', () => {
  // A pod another gateway process created for its caller, found before it became ready.
  const starting = (id: string) => ({
    id,
    key: spec().key,
    namespace: 'default',
    functionName: 'f',
    version: '$LATEST',
    initializationType: 'on-demand' as const,
    ready: false,
  });

  it('removes an adopted pending environment when no node has room (nobody waits for it)', async () => {
    const id = 'default/f-latest-adopted';
    const provider = new FakeProvider([starting(id)]);
    const { pool } = setup({ provider });
    await pool.start();
    provider.unschedulable(id);
    await tick();
    assert.ok(provider.destroyed.includes(id), 'the pending pod is deleted, not left in line');
  });

  it('removes an adopted environment that never becomes ready within the cold-start time', async () => {
    const id = 'default/f-latest-slow';
    const provider = new FakeProvider([starting(id)]);
    const { pool, clock } = setup({ provider, coldStartTimeoutMs: 5000 });
    await pool.start();
    await tick();
    clock.advance(4000);
    assert.ok(!provider.destroyed.includes(id));
    clock.advance(1500);
    await tick();
    assert.ok(provider.destroyed.includes(id));
  });
});
