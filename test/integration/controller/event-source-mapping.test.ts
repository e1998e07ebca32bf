// EventSourceMappings against a real API server: what the CRD's rules refuse, and the state
// the reconciler reports (Enabled/Disabled, Ready only while the function exists).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  EventSourceMappingResource,
  type EventSourceMapping,
  type EventSourceMappingSpec,
} from '../../../operator/src/api/index.js';
import { ResourceClient } from '../../../operator/src/kube/custom-objects.js';
import { eventually, fnObject, setUp, waitForFunction, type Environment } from './fixtures.js';

type SpecInput = Partial<EventSourceMappingSpec> & Pick<EventSourceMappingSpec, 'source'>;

const nats = { nats: { url: 'nats://nats:4222', stream: 'orders' } };
const sqs = { sqs: { queueUrl: 'http://sqs:9324/000000000000/orders' } };
const schedule = { schedule: { expression: 'rate(1 minute)' } };

describe('EventSourceMapping', () => {
  let env: Environment;
  let esm: ResourceClient<EventSourceMapping>;

  before(async () => {
    env = await setUp('op-esm');
    esm = new ResourceClient(env.kc, EventSourceMappingResource.plural, EventSourceMappingResource.kind);
    await env.api.functions.create(env.ns, fnObject('consumer'));
    await waitForFunction(env.api, env.ns, 'consumer', 'Active');
  });
  after(() => env?.dispose());

  const create = (name: string, spec: SpecInput) =>
    esm.create(env.ns, {
      metadata: { name },
      spec: { functionName: 'consumer', ...spec } as EventSourceMappingSpec,
    });

  const refused = async (spec: SpecInput, message: RegExp) => {
    await assert.rejects(create(`refused-${Math.random().toString(36).slice(2, 8)}`, spec), (err: Error) => {
      assert.match(String((err as { body?: unknown }).body ?? err.message), message);
      return true;
    });
  };

  const until = (name: string, test: (m: EventSourceMapping) => void) =>
    eventually(async () => {
      const m = await esm.get(env.ns, name);
      assert.ok(m);
      assert.equal(m.status?.observedGeneration, m.metadata.generation);
      test(m);
      return m;
    });
  const ready = (m: EventSourceMapping) => m.status?.conditions?.find((c) => c.type === 'Ready');

  it('refuses a spec with no source or two sources', async () => {
    await refused({ source: {} }, /exactly one source/);
    await refused({ source: { ...sqs, ...schedule } }, /exactly one source/);
  });

  it("refuses what Lambda refuses for each source's bounds", async () => {
    await refused({ source: nats }, /startingPosition is required/);
    await refused({ source: sqs, startingPosition: 'LATEST' }, /startingPosition is only for/);
    await refused({ source: sqs, batchSize: 100 }, /batchSize above 10 needs maximumBatchingWindowInSeconds/);
    await refused({ source: sqs, maximumRetryAttempts: 2 }, /are for streams/);
    await refused(
      { source: nats, startingPosition: 'LATEST', scalingConfig: { maximumConcurrency: 5 } },
      /scalingConfig is only for sqs/,
    );
    await refused({ source: schedule, batchSize: 5 }, /one event per tick/);
    await refused({ source: nats, startingPosition: 'AT_TIMESTAMP' }, /needs startingPositionTimestamp/);
    await refused(
      { source: nats, startingPosition: 'LATEST', maximumRecordAgeInSeconds: 10 },
      /-1 or between 60/,
    );
    await refused({ source: nats, startingPosition: 'LATEST', batchSize: 10_001 }, /batchSize/);
    await refused({ source: { schedule: { expression: 'rate(1 minutes)' } } }, /expression/);
    await refused({ source: { schedule: { expression: 'cron(0 12 * * ?)' } } }, /expression/);
  });

  it('accepts a schedule with a cron expression and time zone, and reports it Enabled', async () => {
    await create('nightly', {
      source: { schedule: { expression: 'cron(0 3 * * ? *)', timezone: 'Europe/Paris' } },
    });
    const m = await until('nightly', (x) => assert.equal(x.status?.state, 'Enabled'));
    assert.equal(ready(m)?.status, 'True');
    assert.equal(m.status?.source, 'schedule cron(0 3 * * ? *)');
    assert.equal(m.status?.stateTransitionReason, 'USER_INITIATED');
    assert.ok(m.status?.lastModified);
  });

  it('reports Disabled when enabled is false, and Enabled again after it is set', async () => {
    await create('orders', { source: nats, startingPosition: 'TRIM_HORIZON', enabled: false, batchSize: 50 });
    await until('orders', (x) => assert.equal(x.status?.state, 'Disabled'));
    await esm.patch(env.ns, 'orders', { spec: { enabled: true } });
    await until('orders', (x) => assert.equal(x.status?.state, 'Enabled'));
  });

  it('is not Ready while its function or qualifier does not exist, and becomes Ready when it does', async () => {
    await esm.create(env.ns, {
      metadata: { name: 'early' },
      spec: { functionName: 'later', source: sqs } as EventSourceMappingSpec,
    });
    await until('early', (x) => assert.match(ready(x)?.message ?? '', /Function not found: later/));
    await env.api.functions.create(env.ns, fnObject('later'));
    await until('early', (x) => assert.equal(ready(x)?.status, 'True'));

    await create('aliased', { functionName: 'consumer:live', source: sqs } as SpecInput);
    await until('aliased', (x) => assert.match(ready(x)?.message ?? '', /Function not found: consumer:live/));
  });
});
