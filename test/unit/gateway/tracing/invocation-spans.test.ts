import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type InvocationFacts,
  invocationSpans,
  type SpanPlan,
} from '../../../../operator/src/gateway/tracing/invocation-spans.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

const facts = (more: Partial<InvocationFacts> = {}): InvocationFacts => ({
  namespace: 'team-a',
  functionName: 'orders',
  version: '3',
  qualifier: 'live',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:team-a:function:orders:live',
  invocationType: 'RequestResponse',
  requestId: 'req-1',
  startedAt: T0,
  endedAt: T0 + 100,
  environment: {
    id: 'team-a/orders-3-abcde',
    address: 'http://10.1.2.3:8080',
    coldStart: false,
    initializationType: 'on-demand',
    spillover: false,
  },
  agentStartedAt: T0 + 1,
  agent: { environmentReset: false, phases: { invokeStartMs: 0.5, invokeDurationMs: 90 } },
  ...more,
});

const byKey = (spans: SpanPlan[]) => new Map(spans.map((s) => [s.key, s]));

describe('the spans of an invocation', () => {
  it('a warm invoke: the server span with the function, qualifier, version, type and warm start, then the agent call and the runtime Invoke', () => {
    const spans = invocationSpans(facts());
    assert.deepEqual(
      spans.map((s) => [s.key, s.name, s.kind, s.parent]),
      [
        ['invoke', 'Invoke orders', 'server', undefined],
        ['agent', 'Agent call', 'client', 'invoke'],
        ['runtime', 'Invoke', 'internal', 'agent'],
      ],
    );
    const [invoke, agent, runtime] = spans as [SpanPlan, SpanPlan, SpanPlan];
    assert.deepEqual(invoke.attributes, {
      'faas.invoked_name': 'orders',
      'faas.invocation_id': 'req-1',
      'faas.version': '3',
      'cloud.resource_id': 'arn:aws:lambda:us-east-1:team-a:function:orders:live',
      'lamina.namespace': 'team-a',
      'lamina.qualifier': 'live',
      'lamina.invocation_type': 'RequestResponse',
      'lamina.throttled': false,
      'faas.coldstart': false,
      'lamina.initialization_type': 'on-demand',
    });
    assert.equal(invoke.error, undefined);
    assert.deepEqual([invoke.startMs, invoke.endMs], [T0, T0 + 100]);
    assert.deepEqual(agent.attributes, {
      'lamina.environment.id': 'team-a/orders-3-abcde',
      'server.address': '10.1.2.3',
      'server.port': 8080,
    });
    assert.deepEqual([runtime.startMs, runtime.endMs], [T0 + 1.5, T0 + 91.5]);
  });

  it('a cold start: Start environment up to the agent call, with the Init that ran during it', () => {
    const spans = byKey(
      invocationSpans(
        facts({
          environment: { ...facts().environment!, coldStart: true },
          agentStartedAt: T0 + 400,
          endedAt: T0 + 500,
          agent: {
            environmentReset: false,
            initDurationMs: 150,
            phases: { initStartMs: -200, invokeStartMs: 0.5, invokeDurationMs: 90 },
          },
        }),
      ),
    );
    assert.equal(spans.get('invoke')?.attributes['faas.coldstart'], true);
    assert.deepEqual(
      [spans.get('start')?.parent, spans.get('start')?.startMs, spans.get('start')?.endMs],
      ['invoke', T0, T0 + 400],
    );
    assert.deepEqual(
      [spans.get('init')?.parent, spans.get('init')?.startMs, spans.get('init')?.endMs],
      ['start', T0 + 200, T0 + 350],
    );
  });

  it('a suppressed Init run inside the invoke is a child of the agent call', () => {
    const spans = byKey(
      invocationSpans(
        facts({
          agent: {
            environmentReset: true,
            initDurationMs: 30,
            phases: { initStartMs: 2, invokeStartMs: 33, invokeDurationMs: 40 },
          },
        }),
      ),
    );
    assert.deepEqual([spans.get('init')?.parent, spans.get('init')?.startMs], ['agent', T0 + 3]);
    assert.equal(spans.get('agent')?.attributes['lamina.environment_reset'], true);
  });

  it('leaves out an Init from before the invocation (a provisioned environment)', () => {
    const spans = byKey(
      invocationSpans(
        facts({
          environment: { ...facts().environment!, initializationType: 'provisioned-concurrency' },
          agent: {
            environmentReset: false,
            initDurationMs: 150,
            phases: { initStartMs: -60_000, invokeStartMs: 0.5, invokeDurationMs: 90 },
          },
        }),
      ),
    );
    assert.equal(spans.has('init'), false);
    assert.equal(spans.get('invoke')?.attributes['lamina.initialization_type'], 'provisioned-concurrency');
  });

  it('a throttled invoke is the server span alone, marked throttled with its reason and error type', () => {
    const spans = invocationSpans(
      facts({
        environment: undefined,
        agentStartedAt: undefined,
        agent: undefined,
        endedAt: T0 + 1,
        error: {
          type: 'TooManyRequestsException',
          throttleReason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
        },
      }),
    );
    assert.equal(spans.length, 1);
    const [invoke] = spans as [SpanPlan];
    assert.equal(invoke.error, 'TooManyRequestsException');
    assert.equal(invoke.attributes['lamina.throttled'], true);
    assert.equal(
      invoke.attributes['lamina.throttle_reason'],
      'ReservedFunctionConcurrentInvocationLimitExceeded',
    );
    assert.equal(invoke.attributes['error.type'], 'TooManyRequestsException');
  });

  it("a function error marks the server span and the runtime's Invoke, not the agent call", () => {
    const spans = byKey(
      invocationSpans(
        facts({
          agent: {
            environmentReset: false,
            functionError: 'Unhandled',
            phases: { invokeStartMs: 0, invokeDurationMs: 5 },
          },
        }),
      ),
    );
    assert.equal(spans.get('invoke')?.error, 'Unhandled');
    assert.equal(spans.get('invoke')?.attributes['lamina.function_error'], 'Unhandled');
    assert.equal(spans.get('runtime')?.error, 'Unhandled');
    assert.equal(spans.get('agent')?.error, undefined);
  });

  it('a failed agent call is its error; without timings the runtime Invoke spans the whole call', () => {
    const spans = byKey(invocationSpans(facts({ agent: undefined, error: { type: 'ServiceException' } })));
    assert.equal(spans.get('agent')?.error, 'ServiceException');
    assert.deepEqual([spans.get('runtime')?.startMs, spans.get('runtime')?.endMs], [T0 + 1, T0 + 100]);
  });
});
