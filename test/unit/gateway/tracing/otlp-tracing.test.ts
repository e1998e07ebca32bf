// The gateway with tracing on, its spans collected in memory (the OTLP wire is the
// integration test's): one trace per invocation, under the caller's trace id and parent, and
// the function handed the span its own spans join.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { createOtlpTracing, tracesUrl } from '../../../../operator/src/gateway/tracing/otlp-tracing.js';
import { createLogger } from '../../../../operator/src/shared/log.js';
import { activeFunction } from '../fixtures.js';
import { tick } from '../fake-provider.js';
import { testGateway } from '../harness.js';

const path = (name: string) => `/2015-03-31/functions/${name}/invocations`;
const CALLER = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
const TRACE_ID = '5759e988bd862e3fe1be46a994272793';

describe('invocation tracing', () => {
  const exported: ReadableSpan[] = [];
  const exporter: SpanExporter = {
    export: (spans, done) => {
      exported.push(...spans);
      done({ code: 0 });
    },
    shutdown: async () => undefined,
  };
  const tracing = createOtlpTracing({
    endpoint: 'http://collector.invalid:4318',
    headers: {},
    samplingRatio: 1,
    instanceId: 'test',
    log: createLogger({}, 'error'),
    exporter,
    exportDelayMs: 10,
  });
  let t: Awaited<ReturnType<typeof testGateway>>;

  /** The spans of one trace, once exported. */
  const traceOf = async (traceId: string, count: number) => {
    for (let i = 0; i < 200; i++) {
      const spans = exported.filter((s) => s.spanContext().traceId === traceId);
      if (spans.length >= count) return spans;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.fail(
      `trace ${traceId}: ${exported.filter((s) => s.spanContext().traceId === traceId).length} spans`,
    );
  };
  const named = (spans: ReadableSpan[], name: string) => {
    const span = spans.find((s) => s.name === name);
    assert.ok(span, `no span ${name} in ${spans.map((s) => s.name).join(', ')}`);
    return span;
  };

  before(async () => {
    t = await testGateway(
      {
        echo: ({ headers }) => ({
          body: { trace: headers['x-amzn-trace-id'] },
          headers: { 'x-lamina-invoke-start-ms': '0.10', 'x-lamina-invoke-duration-ms': '2.00' },
        }),
      },
      { tracing },
    );
    t.catalog.upsertFunction(activeFunction('echo'));
    t.catalog.upsertFunction(activeFunction('closed', { reservedConcurrentExecutions: 0 }));
    await tick();
  });
  after(() => t.close());

  it("records the invoke under the caller's trace id and parent, and hands the function the runtime span as its parent", async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: path('echo'),
      payload: '{}',
      headers: { 'x-amzn-trace-id': CALLER },
    });
    assert.equal(res.statusCode, 200);
    const spans = await traceOf(TRACE_ID, 4);
    const invoke = named(spans, 'Invoke echo');
    const start = named(spans, 'Start environment');
    const agent = named(spans, 'Agent call');
    const runtime = named(spans, 'Invoke');
    assert.equal(invoke.parentSpanContext?.spanId, '53995c3f42cd8ad8');
    assert.equal(invoke.attributes['faas.coldstart'], true);
    assert.equal(invoke.attributes['lamina.invocation_type'], 'RequestResponse');
    assert.equal(start.parentSpanContext?.spanId, invoke.spanContext().spanId);
    assert.equal(agent.parentSpanContext?.spanId, invoke.spanContext().spanId);
    assert.equal(runtime.parentSpanContext?.spanId, agent.spanContext().spanId);
    const handed = res.json<{ trace: string }>().trace;
    assert.equal(
      handed,
      `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=${runtime.spanContext().spanId};Sampled=1`,
    );
  });

  it('starts a root span for a caller that sent no trace header, under the id the function got', async () => {
    const res = await t.app.inject({ method: 'POST', url: path('echo'), payload: '{}' });
    const handed = res.json<{ trace: string }>().trace;
    const root = /^Root=1-([0-9a-f]{8})-([0-9a-f]{24});Parent=([0-9a-f]{16});Sampled=1$/.exec(handed);
    assert.ok(root, handed);
    const spans = await traceOf(`${root[1]}${root[2]}`, 3);
    const invoke = named(spans, 'Invoke echo');
    assert.equal(invoke.parentSpanContext, undefined);
    assert.equal(invoke.attributes['faas.coldstart'], false);
    assert.equal(named(spans, 'Invoke').spanContext().spanId, root[3]);
  });

  it('records nothing when the caller decided not to sample, and passes its header on as it was', async () => {
    const unsampled = 'Root=1-5759e988-00000000000000000000abcd;Parent=53995c3f42cd8ad8;Sampled=0';
    const res = await t.app.inject({
      method: 'POST',
      url: path('echo'),
      payload: '{}',
      headers: { 'x-amzn-trace-id': unsampled },
    });
    assert.equal(res.json<{ trace: string }>().trace, unsampled);
    // A later traced invoke is exported after it: had this one made spans, they would be there.
    await t.app.inject({
      method: 'POST',
      url: path('echo'),
      payload: '{}',
      headers: { 'x-amzn-trace-id': CALLER },
    });
    await traceOf(TRACE_ID, 7);
    assert.equal(
      exported.filter((s) => s.spanContext().traceId === '5759e98800000000000000000000abcd').length,
      0,
    );
  });

  it('records a throttled invoke as an error span marked throttled, with the reason', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const res = await t.app.inject({
      method: 'POST',
      url: path('closed'),
      payload: '{}',
      headers: { traceparent },
    });
    assert.equal(res.statusCode, 429);
    const [invoke] = await traceOf('0af7651916cd43dd8448eb211c80319c', 1);
    assert.equal(invoke?.name, 'Invoke closed');
    assert.equal(invoke?.parentSpanContext?.spanId, 'b7ad6b7169203331');
    assert.equal(invoke?.status.code, 2);
    assert.equal(invoke?.attributes['lamina.throttled'], true);
    assert.equal(
      invoke?.attributes['lamina.throttle_reason'],
      'ReservedFunctionConcurrentInvocationLimitExceeded',
    );
    assert.equal(invoke?.attributes['error.type'], 'TooManyRequestsException');
  });

  it('answers invokes while the collector is unreachable, and logs the failed export', async () => {
    const warnings: string[] = [];
    const log = createLogger({}, 'error');
    const unreachable = createOtlpTracing({
      endpoint: 'http://127.0.0.1:1', // nothing listens on port 1
      headers: {},
      samplingRatio: 1,
      instanceId: 'test',
      log: { ...log, warn: (message) => void warnings.push(message), child: () => log },
      exportDelayMs: 10,
      exportTimeoutMs: 300,
    });
    const u = await testGateway({ echo: () => ({ body: 'ok' }) }, { tracing: unreachable });
    try {
      u.catalog.upsertFunction(activeFunction('echo'));
      await tick();
      const res = await u.app.inject({ method: 'POST', url: path('echo'), payload: '{}' });
      assert.equal(res.statusCode, 200);
      for (let i = 0; i < 200 && !warnings.includes('tracing: export failed'); i++)
        await new Promise((resolve) => setTimeout(resolve, 25));
      assert.ok(warnings.includes('tracing: export failed'), warnings.join(', '));
    } finally {
      await u.close();
    }
  });

  it("exports to the endpoint's /v1/traces, or the traces URL given", () => {
    assert.equal(tracesUrl('http://collector:4318'), 'http://collector:4318/v1/traces');
    assert.equal(tracesUrl('http://collector:4318/'), 'http://collector:4318/v1/traces');
    assert.equal(tracesUrl('https://otlp.example/v1/traces'), 'https://otlp.example/v1/traces');
    assert.equal(tracesUrl('https://otlp.example/tenant-a'), 'https://otlp.example/tenant-a/v1/traces');
  });
});
