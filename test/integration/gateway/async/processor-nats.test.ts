// The same processor on the scale-out backend: NATS JetStream on a real nats-server, with
// two processors sharing the stream (two gateway replicas), 150 events.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { GatewayAsyncQueue } from '../../../../operator/src/gateway/async/gateway-queue.js';
import { NatsEventQueue } from '../../../../operator/src/gateway/async/nats/nats-queue.js';
import { startAsyncProcessor, type AsyncRuntime } from '../../../../operator/src/gateway/async/runtime.js';
import { createLogger } from '../../../../operator/src/shared/log.js';
import { startNatsServer, type NatsServer } from '../../../../scripts/nats/nats-server.js';
import { startDestinationServer, type DestinationServer } from './fixtures/destination-server.js';
import {
  eventPlan,
  expectedOutcome,
  FakeInvoker,
  fakeCatalog,
  invocation,
} from './fixtures/fake-functions.js';
import { fastConfig, tally, waitUntil } from './fixtures/harness.js';

describe('async processor on NATS JetStream', () => {
  let nats: NatsServer;
  let server: DestinationServer;

  before(async () => {
    nats = await startNatsServer();
    server = await startDestinationServer();
  });
  after(async () => {
    await server.close();
    await nats.stop();
  });

  it('two replicas share the stream and deliver every event to the right destination', async (t) => {
    const config = { ...fastConfig('unused'), visibilityTimeoutMs: 3000 };
    const replicas: Array<{ queue: GatewayAsyncQueue; runtime: AsyncRuntime }> = [];
    // One function behind both replicas: its failures and its concurrency limit are shared.
    const invoker = new FakeInvoker({ concurrency: 4, delayMs: 2 });
    for (let r = 0; r < 2; r++) {
      const events = await NatsEventQueue.open({
        servers: nats.url,
        visibilityTimeoutMs: config.visibilityTimeoutMs,
      });
      const queue = new GatewayAsyncQueue(events);
      const runtime = startAsyncProcessor({
        config,
        queue,
        invoker,
        catalog: fakeCatalog(server.url),
        log: createLogger({ component: 'test' }, 'error'),
        registry: new Registry(),
      });
      replicas.push({ queue, runtime });
    }
    const total = 150;
    try {
      // Alternate replicas as a load balancer would.
      await Promise.all(
        Array.from({ length: total }, (_, i) => replicas[i % 2]!.queue.enqueue(invocation(i, 'nats'))),
      );
      const ids = Array.from({ length: total }, (_, i) => i).filter(
        (i) => !(eventPlan(i).fn === 'chained' && expectedOutcome(i).condition === 'Success'),
      );
      const done = await waitUntil(
        () => ids.every((i) => tally(server, 'nats').finished.has(`nats-${i}`)),
        120_000,
      );
      const { finished, duplicates } = tally(server, 'nats');
      t.diagnostic(`finished ${finished.size}/${ids.length}, duplicates ${duplicates}`);
      assert.ok(done, 'every event reached a destination');
      const success = server.byRequestId('/success');
      for (const i of ids) {
        const id = `nats-${i}`;
        const expected = expectedOutcome(i);
        const records =
          (expected.condition === 'Success' ? success : server.byRequestId('/failure')).get(id) ?? [];
        assert.ok(records.length >= 1, `${id} reached ${expected.condition}`);
        const record = JSON.parse(records[0]!.body) as { requestContext: { approximateInvokeCount: number } };
        assert.equal(record.requestContext.approximateInvokeCount, expected.count, `${id} count`);
      }
    } finally {
      for (const { runtime, queue } of replicas) {
        await runtime.stop();
        await queue.close();
      }
    }
  });
});
