// The processor with real pieces: the SQLite backend on a temp file, a real HTTP server as
// destinations and dead-letter target, and a fake Invoker that fails the first attempt of a
// third of the events, throttles others (and enforces a concurrency limit with real 429s).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { GatewayAsyncQueue } from '../../../../operator/src/gateway/async/gateway-queue.js';
import type { DeadLetterNotice } from '../../../../operator/src/gateway/async/processor.js';
import {
  openEventQueue,
  startAsyncProcessor,
  type AsyncRuntime,
} from '../../../../operator/src/gateway/async/runtime.js';
import { createLogger } from '../../../../operator/src/shared/log.js';
import { startDestinationServer, type DestinationServer } from './fixtures/destination-server.js';
import {
  eventPlan,
  expectedOutcome,
  FakeInvoker,
  fakeCatalog,
  invocation,
} from './fixtures/fake-functions.js';
import { fastConfig, tally, waitUntil } from './fixtures/harness.js';

const log = createLogger({ component: 'test' }, 'error');
const childScript = fileURLToPath(new URL('./fixtures/processor-child.ts', import.meta.url));

interface Running {
  queue: GatewayAsyncQueue;
  runtime: AsyncRuntime;
  invoker: FakeInvoker;
  registry: Registry;
  notices: DeadLetterNotice[];
}

describe('async processor on SQLite with HTTP destinations', () => {
  let dir: string;
  let server: DestinationServer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lamina-processor-'));
    server = await startDestinationServer();
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(db: string): Promise<Running> {
    const config = fastConfig(db);
    const queue = new GatewayAsyncQueue(await openEventQueue(config));
    const invoker = new FakeInvoker({ concurrency: 4, delayMs: 2 });
    const registry = new Registry();
    const notices: DeadLetterNotice[] = [];
    const runtime = startAsyncProcessor({
      config,
      queue,
      invoker,
      catalog: fakeCatalog(server.url),
      log,
      registry,
      onDeadLetter: (n) => notices.push(n),
    });
    return { queue, runtime, invoker, registry, notices };
  }

  it('delivers 500 events exactly once to the success or failure destination, as Lambda’s rules say', async (t) => {
    const run = await start(join(dir, 'main.db'));
    const total = 500;
    try {
      await Promise.all(Array.from({ length: total }, (_, i) => run.queue.enqueue(invocation(i, 'main'))));
      const chained = Array.from({ length: total }, (_, i) => i).filter((i) => eventPlan(i).fn === 'chained');
      const settled = await waitUntil(
        async () =>
          tally(server, 'main').finished.size +
            chained.filter((i) => expectedOutcome(i).condition === 'Success').length >=
            total && (await run.queue.events.stats()).depth === 0,
        120_000,
      );
      const { finished, duplicates } = tally(server, 'main');
      t.diagnostic(
        `finished ${finished.size}, duplicates ${duplicates}, destination 503s retried ${server.refused}`,
      );
      assert.ok(settled, `only ${finished.size} events reached a destination`);

      const success = server.byRequestId('/success');
      const failure = server.byRequestId('/failure');
      const dlq = server.byRequestId('/dlq');
      const sinkRecords = run.invoker.sinkPayloads.map(
        (p) =>
          JSON.parse(p) as {
            requestContext: { requestId: string; condition: string; approximateInvokeCount: number };
          },
      );
      for (let i = 0; i < total; i++) {
        const id = `main-${i}`;
        const { fn, plan } = eventPlan(i);
        const expected = expectedOutcome(i);
        const where = expected.condition === 'Success' ? success : failure;
        const other = expected.condition === 'Success' ? failure : success;
        assert.equal(other.get(id), undefined, `${id} (${fn}/${plan}) must not reach the other destination`);
        if (fn === 'chained' && expected.condition === 'Success') {
          // onSuccess is function:sink: the record arrives as the sink's event, through the queue.
          const records = sinkRecords.filter((r) => r.requestContext.requestId === id);
          assert.equal(records.length, 1, `${id} reached the sink function once`);
          assert.equal(records[0]?.requestContext.approximateInvokeCount, expected.count);
          continue;
        }
        const records = where.get(id) ?? [];
        assert.equal(records.length, 1, `${id} (${fn}/${plan}) reached ${expected.condition} exactly once`);
        const record = JSON.parse(records[0]!.body) as {
          version: string;
          requestContext: { condition: string; approximateInvokeCount: number; functionArn: string };
          requestPayload: { i: number };
          responseContext?: { statusCode: number; functionError?: string };
        };
        assert.equal(record.version, '1.0');
        assert.equal(record.requestContext.condition, expected.condition, `${id} (${fn}/${plan})`);
        assert.equal(
          record.requestContext.approximateInvokeCount,
          expected.count,
          `${id} (${fn}/${plan}) count`,
        );
        assert.equal(
          record.requestContext.functionArn,
          `arn:aws:lambda:us-east-1:team-a:function:${fn}:$LATEST`,
        );
        assert.equal(record.requestPayload.i, i);
        if (expected.condition === 'RetriesExhausted') {
          const dead = dlq.get(id) ?? [];
          assert.equal(dead.length, 1, `${id} reached the dead-letter target once`);
          assert.equal(dead[0]!.body, JSON.stringify({ i, plan }), 'the DLQ gets the raw event');
          assert.equal(dead[0]!.headers['x-lamina-errorcode'], fn === 'zero' ? '429' : '200');
          if (fn === 'zero') {
            assert.equal(run.invoker.calls.get(id), undefined, 'reserved concurrency 0: never invoked');
            assert.equal(record.responseContext, undefined);
          } else {
            assert.equal(record.responseContext?.functionError, 'Unhandled');
            assert.match(String(dead[0]!.headers['x-lamina-errormessage']), /^planned failure/);
          }
        } else {
          assert.equal(dlq.get(id), undefined);
        }
      }
      const failed = Array.from({ length: total }, (_, i) => i).filter(
        (i) => expectedOutcome(i).condition === 'RetriesExhausted',
      );
      assert.equal(run.notices.filter((n) => n.requestId.startsWith('main-')).length, failed.length);
      const stats = await run.queue.events.stats();
      assert.deepEqual(stats, { depth: 0, deadLettered: 0 });

      const metrics = await run.registry.metrics();
      const sum = (name: string, filter = '') =>
        metrics
          .split('\n')
          .filter((l) => l.startsWith(name) && l.includes(filter))
          .reduce((s, l) => s + Number(l.split(' ').pop()), 0);
      assert.equal(
        sum('lamina_async_events_enqueued_total'),
        total + chained.filter((i) => expectedOutcome(i).condition === 'Success').length,
      );
      assert.ok(sum('lamina_async_retries_total', 'reason="function_error"') > 0);
      assert.ok(sum('lamina_async_retries_total', 'reason="throttled"') > 0);
      assert.equal(sum('lamina_async_events_dead_lettered_total'), failed.length);
      assert.equal(sum('lamina_async_events_expired_total'), 0);
      assert.equal(sum('lamina_async_queue_depth'), 0);
      t.diagnostic(
        `attempts: ${sum('lamina_async_attempts_total')}, throttled retries: ${sum('lamina_async_retries_total', 'reason="throttled"')}`,
      );
    } finally {
      await run.runtime.stop();
      await run.queue.close();
    }
  });

  it('processes every accepted event after a restart with 200 events queued (duplicates counted)', async (t) => {
    const db = join(dir, 'restart.db');
    const total = 200;
    const first = await start(db);
    await first.runtime.processor.stop();
    // Accepted while nothing processes, then a processor runs briefly and is stopped mid-way.
    await Promise.all(Array.from({ length: total }, (_, i) => first.queue.enqueue(invocation(i, 'restart'))));
    assert.equal((await first.queue.events.stats()).depth, total);
    first.runtime.processor.start();
    await waitUntil(() => tally(server, 'restart').finished.size >= 20, 30_000);
    await first.runtime.stop();
    await first.queue.close();
    const left = tally(server, 'restart').finished.size;

    const second = await start(db);
    try {
      const queued = (await second.queue.events.stats()).depth;
      t.diagnostic(`stopped after ${left} finished; ${queued} events still queued at restart`);
      assert.ok(queued > 0, 'the restart happened with events still queued');
      const done = await waitUntil(
        async () => expectedIds('restart', total).every((id) => tally(server, 'restart').finished.has(id)),
        120_000,
      );
      const { finished, duplicates } = tally(server, 'restart');
      t.diagnostic(
        `after restart: ${finished.size}/${expectedIds('restart', total).length} finished, ${duplicates} duplicates`,
      );
      assert.ok(done, 'every accepted event was processed');
      assertConditions(server, 'restart', total);
    } finally {
      await second.runtime.stop();
      await second.queue.close();
    }
  });

  it('processes every accepted event after the processor is killed with SIGKILL mid-run (duplicates counted)', async (t) => {
    const db = join(dir, 'killed.db');
    const total = 200;
    const seed = await start(db);
    await seed.runtime.processor.stop();
    await Promise.all(Array.from({ length: total }, (_, i) => seed.queue.enqueue(invocation(i, 'killed'))));
    await seed.runtime.stop();
    await seed.queue.close();

    const child = spawn(process.execPath, ['--import', 'tsx', childScript], {
      env: { ...process.env, LAMINA_TEST_DB: db, LAMINA_TEST_DESTINATIONS: server.url },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      assert.ok(
        await waitUntil(() => tally(server, 'killed').finished.size >= 30, 60_000),
        'the child processed events',
      );
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    const before = tally(server, 'killed').finished.size;

    const second = await start(db);
    try {
      const queued = (await second.queue.events.stats()).depth;
      t.diagnostic(`killed after ${before} finished; ${queued} events still stored`);
      const done = await waitUntil(
        async () => expectedIds('killed', total).every((id) => tally(server, 'killed').finished.has(id)),
        120_000,
      );
      const { finished, duplicates } = tally(server, 'killed');
      t.diagnostic(`after SIGKILL and restart: ${finished.size} finished, ${duplicates} duplicates`);
      assert.ok(done, 'every accepted event was processed');
      assertConditions(server, 'killed', total);
    } finally {
      await second.runtime.stop();
      await second.queue.close();
    }
  });
});

/** Events whose record lands on the HTTP destinations (chained successes go to the sink function). */
function expectedIds(prefix: string, total: number): string[] {
  return Array.from({ length: total }, (_, i) => i)
    .filter((i) => !(eventPlan(i).fn === 'chained' && expectedOutcome(i).condition === 'Success'))
    .map((i) => `${prefix}-${i}`);
}

function assertConditions(server: DestinationServer, prefix: string, total: number): void {
  const success = server.byRequestId('/success');
  const failure = server.byRequestId('/failure');
  for (const id of expectedIds(prefix, total)) {
    const i = Number(id.split('-').pop());
    const want = expectedOutcome(i).condition === 'Success' ? success : failure;
    const unwanted = want === success ? failure : success;
    assert.ok(want.has(id), `${id} reached ${expectedOutcome(i).condition}`);
    assert.ok(!unwanted.has(id), `${id} did not reach the other destination`);
  }
}
