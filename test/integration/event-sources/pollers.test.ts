// The pollers against a real API server (the operator reconciling the mappings) and a real
// nats-server: NATS batches with filters and ReportBatchItemFailures, disable/enable resumes
// from the consumer's position, delete stops; the mapping's lag gauge follows the consumer's
// pending count; a schedule tick is delivered once by two replicas racing for it. The function side is a recording invoker: what the pollers send and
// what they do with each answer is the point here (the gateway path is the e2e test's).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager, jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Registry } from 'prom-client';
import {
  EventSourceMappingResource,
  FunctionResource,
  type EventSourceMapping,
  type EventSourceMappingSpec,
  type LaminaFunction,
} from '../../../operator/src/api/index.js';
import type { InvokeOutcome } from '../../../operator/src/event-sources/decisions.js';
import type { FunctionInvoker, InvokeTarget } from '../../../operator/src/event-sources/invoke-client.js';
import { EventSourceMetrics } from '../../../operator/src/event-sources/metrics.js';
import { natsSource } from '../../../operator/src/event-sources/nats.js';
import { EventSourceSupervisor } from '../../../operator/src/event-sources/supervisor.js';
import { ResourceClient, WatchedKind } from '../../../operator/src/kube/index.js';
import { createLogger, ManualClock, systemClock, type Clock } from '../../../operator/src/shared/index.js';
import { startNatsServer, type NatsServer } from '../../../scripts/nats/nats-server.js';
import { eventually, fnObject, setUp, type Environment } from '../controller/fixtures.js';

interface Call {
  target: InvokeTarget;
  type: string;
  event: { Records?: { sequence: number; data: string }[] } & Record<string, unknown>;
}

/** Records every invoke and answers with `answer` (default: success, empty body). */
class RecordingInvoker implements FunctionInvoker {
  readonly calls: Call[] = [];
  answer: (call: Call) => InvokeOutcome = () => ({ kind: 'success', payload: Buffer.from('null') });
  async invoke(target: InvokeTarget, payload: Buffer, type = 'RequestResponse') {
    const call = { target, type, event: JSON.parse(payload.toString('utf8')) as Call['event'] };
    this.calls.push(call);
    return this.answer(call);
  }
  async close() {}
}

/** Like RecordingInvoker, but the first invoke answers only once release() is called. */
class HoldingFirstInvoker extends RecordingInvoker {
  release: () => void = () => undefined;
  private readonly held = new Promise<void>((resolve) => (this.release = resolve));
  override async invoke(target: InvokeTarget, payload: Buffer, type?: string) {
    const outcome = await super.invoke(target, payload, type);
    if (this.calls.length === 1) await this.held;
    return outcome;
  }
}

const log = createLogger({}, (process.env.TEST_LOG as 'info') ?? 'error');
const numbers = (call: Call) =>
  (call.event.Records ?? []).map(
    (r) => (JSON.parse(Buffer.from(r.data, 'base64').toString()) as { n: number }).n,
  );

describe('event source pollers', () => {
  let env: Environment;
  let nats: NatsServer;
  let nc: NatsConnection;
  let esm: ResourceClient<EventSourceMapping>;
  const stops: (() => Promise<void>)[] = [];
  const registry = new Registry();
  /** A mapping's value of an event source metric (0 when it has no series). */
  const metric = async (name: string, mapping: string) =>
    (await registry.getMetricsAsJSON())
      .find((m) => m.name === `lamina_event_source_${name}`)
      ?.values.find((v) => v.labels.mapping === mapping)?.value ?? 0;
  /** A mapping's lag gauge, undefined while it has no series. */
  const lag = async (mapping: string) =>
    (await registry.getMetricsAsJSON())
      .find((m) => m.name === 'lamina_event_source_offset_lag')
      ?.values.find((v) => v.labels.mapping === mapping)?.value;

  const supervise = async (namespace: string, invoker: FunctionInvoker, clock: Clock) => {
    const mappings = new WatchedKind<EventSourceMapping>(
      env.kc,
      EventSourceMappingResource.plural,
      [namespace],
      clock,
      log,
    );
    const functions = new WatchedKind<LaminaFunction>(
      env.kc,
      FunctionResource.plural,
      [namespace],
      clock,
      log,
    );
    await Promise.all([mappings.start(), functions.start()]);
    const supervisor = new EventSourceSupervisor({
      mappings,
      functions,
      client: esm,
      invoker,
      sources: { nats: natsSource },
      deliverFailure: async () => undefined,
      clock,
      log,
      region: 'us-east-1',
      metrics: new EventSourceMetrics(registry),
      lagIntervalMs: 200,
    });
    supervisor.start();
    stops.push(async () => {
      await supervisor.stop();
      await mappings.stop();
      await functions.stop();
    });
    return supervisor;
  };

  const create = (namespace: string, name: string, spec: Partial<EventSourceMappingSpec>) =>
    esm.create(namespace, {
      metadata: { name },
      spec: { functionName: 'consumer', ...spec } as EventSourceMappingSpec,
    });

  before(async () => {
    env = await setUp('esm-poll', 3);
    esm = new ResourceClient(env.kc, EventSourceMappingResource.plural, EventSourceMappingResource.kind);
    for (const ns of env.namespaces) await env.api.functions.create(ns, fnObject('consumer'));
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url });
    await (await jetstreamManager(nc)).streams.add({ name: 'orders', subjects: ['orders.>'] });
  });
  after(async () => {
    for (const stop of stops.reverse()) await stop();
    await nc?.close();
    await nats?.stop();
    await env?.dispose();
  });

  it('delivers NATS batches in order, drops filtered records, retries from the lowest failed item, resumes after disable and stops on delete', async () => {
    const [ns = ''] = env.namespaces;
    const invoker = new RecordingInvoker();
    let failed = false;
    invoker.answer = (call) => {
      const seq = call.event.Records?.find((_, i) => numbers(call)[i] === 3)?.sequence;
      if (seq !== undefined && !failed) {
        failed = true;
        return {
          kind: 'success',
          payload: Buffer.from(JSON.stringify({ batchItemFailures: [{ itemIdentifier: String(seq) }] })),
        };
      }
      return { kind: 'success', payload: Buffer.from('{}') };
    };
    const supervisor = await supervise(ns, invoker, systemClock);
    const js = jetstream(nc);
    for (const n of [1, 2, 3, 200, 4, 5]) await js.publish('orders.created', JSON.stringify({ n }));

    await create(ns, 'orders', {
      source: { nats: { url: nats.url, stream: 'orders', subject: 'orders.created' } },
      startingPosition: 'TRIM_HORIZON',
      batchSize: 10,
      maximumBatchingWindowInSeconds: 1,
      functionResponseTypes: ['ReportBatchItemFailures'],
      filterCriteria: { filters: [{ pattern: '{"data":{"n":[{"numeric":["<",100]}]}}' }] },
    });
    await eventually(
      () =>
        assert.ok(
          invoker.calls.flatMap(numbers).filter((n) => n === 5).length >= 2,
          JSON.stringify(invoker.calls.map(numbers)),
        ),
      30_000,
    );
    const delivered = invoker.calls.flatMap(numbers);
    assert.deepEqual(delivered, [1, 2, 3, 4, 5, 3, 4, 5], 'the batch, then from the failed record on');
    assert.equal(invoker.calls[0]?.target.name, 'consumer');
    await eventually(async () =>
      assert.equal((await esm.get(ns, 'orders'))?.status?.lastProcessingResult, 'OK'),
    );
    // Lambda's mapping metrics: 200 filtered out, 8 records invoked (a partial batch failure is a
    // successful invoke), every polled record counted, none dropped.
    assert.equal(await metric('filtered_out_records_total', 'orders'), 1);
    assert.equal(await metric('invoked_records_total', 'orders'), 8);
    assert.equal(await metric('failed_invoke_records_total', 'orders'), 0);
    assert.ok((await metric('polled_records_total', 'orders')) >= 9, 'six records, three of them again');
    assert.equal(await metric('dropped_records_total', 'orders'), 0);

    await esm.patch(ns, 'orders', { spec: { enabled: false } });
    await eventually(() => assert.equal(supervisor.size, 0));
    for (const n of [6, 7]) await js.publish('orders.created', JSON.stringify({ n }));
    await esm.patch(ns, 'orders', { spec: { enabled: true } });
    await eventually(() => assert.deepEqual(invoker.calls.flatMap(numbers).slice(8), [6, 7]), 30_000);

    await esm.delete(ns, 'orders');
    await eventually(() => assert.equal(supervisor.size, 0));
    await eventually(async () =>
      assert.equal(await metric('invoked_records_total', 'orders'), 0, 'a deleted mapping’s series are gone'),
    );
  });

  it("reports the mapping's lag as the JetStream consumer's pending records, down to 0 once processed", async () => {
    const ns = env.namespaces[2] ?? '';
    await (await jetstreamManager(nc)).streams.add({ name: 'backlog', subjects: ['backlog.>'] });
    const js = jetstream(nc);
    for (let n = 1; n <= 5; n++) await js.publish('backlog.item', JSON.stringify({ n }));
    // The first batch (records 1 and 2) stays in the function until released.
    const invoker = new HoldingFirstInvoker();
    await supervise(ns, invoker, systemClock);
    await create(ns, 'backlog', {
      source: { nats: { url: nats.url, stream: 'backlog', subject: 'backlog.item' } },
      startingPosition: 'TRIM_HORIZON',
      batchSize: 2,
      maximumBatchingWindowInSeconds: 0,
    });
    await eventually(() => assert.equal(invoker.calls.length, 1), 30_000);
    await eventually(
      async () => assert.equal(await lag('backlog'), 3, 'five records, two in flight'),
      30_000,
    );
    invoker.release();
    await eventually(() => assert.deepEqual(invoker.calls.flatMap(numbers), [1, 2, 3, 4, 5]), 30_000);
    await eventually(async () => assert.equal(await lag('backlog'), 0), 30_000);
    await esm.delete(ns, 'backlog');
    await eventually(async () =>
      assert.equal(await lag('backlog'), undefined, 'the series goes with the mapping'),
    );
  });

  it('delivers a schedule tick once when two replicas race for it', async () => {
    const ns = env.namespaces[1] ?? '';
    const clock = new ManualClock(Date.now());
    const invoker = new RecordingInvoker();
    const replicas = [await supervise(ns, invoker, clock), await supervise(ns, invoker, clock)];
    await create(ns, 'every-minute', {
      source: { schedule: { expression: 'rate(1 minute)', input: '{"job":"tick"}' } },
    });
    await eventually(() =>
      assert.deepEqual(
        replicas.map((r) => r.size),
        [1, 1],
      ),
    );
    clock.advance(61_000);
    const status = await eventually(async () => {
      const m = await esm.get(ns, 'every-minute');
      assert.ok(m?.status?.lastTick);
      assert.equal(m.status.lastProcessingResult, 'OK');
      return m.status;
    });
    assert.equal(invoker.calls.length, 1);
    assert.deepEqual(invoker.calls[0]?.event, { job: 'tick' });
    assert.equal(invoker.calls[0]?.type, 'Event');
    assert.equal(Date.parse(status.lastTick ?? '') % 60_000, 0);
  });
});
