// Tracing end to end on one machine: the gateway in-process with tracing on, a real agent
// process running a Node.js function, and an OTLP/HTTP receiver decoding what the gateway
// exports. One invoke is one trace: the gateway's span under the caller's X-Amzn-Trace-Id,
// the cold start with the agent's Init, the agent call with the runtime's Invoke, whose span
// id is the Parent the function found in _X_AMZN_TRACE_ID.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryCatalog } from '../../../operator/src/gateway/catalog/catalog.js';
import { createGateway, type Gateway } from '../../../operator/src/gateway/gateway.js';
import { createOtlpTracing } from '../../../operator/src/gateway/tracing/otlp-tracing.js';
import { createLogger } from '../../../operator/src/shared/log.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../../harness/otlp-receiver.js';
import { agentFixture, functionConfig, waitUntilSettled, zipOf } from '../agent/harness.js';
import { FakeProvider, tick } from '../../unit/gateway/fake-provider.js';
import { activeFunction } from '../../unit/gateway/fixtures.js';
import { testSettings } from '../../unit/gateway/harness.js';

const ROOT = '1-6650f00d-0123456789abcdef01234567';
const TRACE_ID = '6650f00d0123456789abcdef01234567';
const CALLER_PARENT = '1a2b3c4d5e6f7081';
const SERVER = 2;
const CLIENT = 3;

describe('invocation traces over OTLP/HTTP', () => {
  const fixture = agentFixture();
  let receiver: OtlpReceiver;
  let gateway: Gateway;

  before(async () => {
    receiver = await startOtlpReceiver();
    const provider = new FakeProvider();
    // The agent process starts during the cold start and is ready once Init is over, as a
    // pod is: its Init is part of the cold start.
    provider.addressFor = async () => {
      const agent = await fixture.start({
        fn: functionConfig({
          functionName: 'traced',
          runtime: 'nodejs20.x',
          handler: 'index.handler',
          code: fixture.store.put(
            zipOf({
              'index.mjs':
                'export const handler = async () => ({ trace: process.env._X_AMZN_TRACE_ID ?? null });',
            }),
          ),
        }),
      });
      await waitUntilSettled(agent);
      return `http://127.0.0.1:${agent.port}`;
    };
    const catalog = new MemoryCatalog();
    gateway = await createGateway({
      settings: { ...testSettings, coldStartTimeoutMs: 20_000 },
      catalog,
      provider,
      log: createLogger({}, 'error'),
      tracing: createOtlpTracing({
        endpoint: receiver.url,
        headers: { 'x-scope-orgid': 'team-a' },
        samplingRatio: 1,
        instanceId: 'gateway-test',
        log: createLogger({}, 'error'),
        exportDelayMs: 50,
      }),
    });
    await gateway.start();
    catalog.upsertFunction(activeFunction('traced'));
    await tick();
  });
  after(async () => {
    await gateway?.stop();
    await receiver?.close();
  });

  const invoke = async (parent: string) => {
    const res = await gateway.app.inject({
      method: 'POST',
      url: '/2015-03-31/functions/traced/invocations',
      payload: '{}',
      headers: { 'x-amzn-trace-id': `Root=${ROOT};Parent=${parent};Sampled=1` },
    });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ trace: string }>().trace;
  };
  const named = (spans: ReceivedSpan[], name: string) => {
    const found = spans.filter((s) => s.name === name);
    assert.equal(found.length, 1, `${name} in ${spans.map((s) => s.name).join(', ')}`);
    return found[0] as ReceivedSpan;
  };

  it('exports a cold invoke as one trace: gateway span, cold start with Init, agent call with the Invoke the function joins', async () => {
    const handed = await invoke(CALLER_PARENT);
    const spans = await receiver.trace(TRACE_ID, 5);
    const server = named(spans, 'Invoke traced');
    const start = named(spans, 'Start environment');
    const init = named(spans, 'Init');
    const call = named(spans, 'Agent call');
    const runtime = named(spans, 'Invoke');

    assert.equal(server.kind, SERVER);
    assert.equal(server.parentSpanId, CALLER_PARENT);
    assert.equal(server.serviceName, 'lamina-gateway');
    assert.equal(server.attributes['faas.invoked_name'], 'traced');
    assert.equal(server.attributes['faas.coldstart'], true);
    assert.equal(server.attributes['lamina.invocation_type'], 'RequestResponse');
    assert.equal(server.statusCode, 0);
    assert.equal(start.parentSpanId, server.spanId);
    assert.equal(init.parentSpanId, start.spanId);
    assert.equal(call.kind, CLIENT);
    assert.equal(call.parentSpanId, server.spanId);
    assert.equal(runtime.parentSpanId, call.spanId);
    // The function saw the same trace, with the runtime's Invoke span as its parent.
    assert.equal(handed, `Root=${ROOT};Parent=${runtime.spanId};Sampled=1`);
    // Exported as OTLP protobuf, with the configured headers.
    assert.ok(receiver.requests.every((r) => r.contentType === 'application/x-protobuf'));
    assert.ok(receiver.requests.every((r) => r.headers['x-scope-orgid'] === 'team-a'));
  });

  it('exports a warm invoke without a cold start or Init', async () => {
    const parent = 'f0e1d2c3b4a59687';
    await invoke(parent);
    const spans = (await receiver.trace(TRACE_ID, 8)).filter((s) => s.name !== 'Init');
    const server = spans.find((s) => s.name === 'Invoke traced' && s.parentSpanId === parent);
    assert.ok(server, 'the second invoke has its own server span');
    assert.equal(server.attributes['faas.coldstart'], false);
    const children = spans.filter((s) => s.parentSpanId === server.spanId).map((s) => s.name);
    assert.deepEqual(children, ['Agent call']);
  });
});
