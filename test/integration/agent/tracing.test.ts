// Every invocation carries an X-Ray trace header, as on Lambda: the caller's, converted from
// its W3C traceparent, or a new root; Node.js and Python handlers see it in _X_AMZN_TRACE_ID.
// The invoke answer says when Init and the Invoke phase ran (the gateway's trace spans).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { agentFixture, functionConfig, waitUntilSettled, zipOf, type AgentProcess } from './harness.js';

const GENERATED = /^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$/;
const AMZN = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const FROM_TRACEPARENT = 'Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=1';

const HANDLERS = {
  node: {
    runtime: 'nodejs20.x',
    handler: 'index.handler',
    files: {
      'index.mjs': 'export const handler = async () => ({ trace: process.env._X_AMZN_TRACE_ID ?? null });',
    },
  },
  python: {
    runtime: 'python3.13',
    handler: 'app.handler',
    files: {
      'app.py':
        'import os\n\ndef handler(event, context):\n    return {"trace": os.environ.get("_X_AMZN_TRACE_ID")}\n',
    },
  },
};

describe('trace header', () => {
  const fixture = agentFixture();

  for (const [language, fn] of Object.entries(HANDLERS)) {
    describe(`in a ${language} handler`, () => {
      let agent: AgentProcess;
      const traceOf = async (headers: Record<string, string> = {}) => {
        agent ??= await fixture.start({
          fn: functionConfig({
            runtime: fn.runtime,
            handler: fn.handler,
            code: fixture.store.put(zipOf(fn.files)),
          }),
        });
        const res = await agent.invoke({}, headers);
        assert.equal(res.status, 200, res.text);
        return res.json<{ trace: string | null }>().trace;
      };

      test('is a new unsampled root when the caller sent none, different per invocation', async () => {
        const first = await traceOf();
        const second = await traceOf();
        assert.match(String(first), GENERATED);
        assert.match(String(second), GENERATED);
        assert.notEqual(first, second);
      });

      test("is the caller's X-Amzn-Trace-Id", async () => {
        assert.equal(await traceOf({ 'X-Amzn-Trace-Id': AMZN }), AMZN);
      });

      test("is the caller's W3C traceparent in X-Ray form", async () => {
        assert.equal(await traceOf({ traceparent: TRACEPARENT }), FROM_TRACEPARENT);
      });
    });
  }
});

describe('phase timings in the invoke answer', () => {
  const fixture = agentFixture();

  test('place the Init that ran before the first invoke, then only the Invoke phase', async () => {
    const agent = await fixture.start({
      fn: functionConfig({
        runtime: 'nodejs20.x',
        handler: 'index.handler',
        code: fixture.store.put(zipOf({ 'index.mjs': 'export const handler = async () => ({ ok: true });' })),
      }),
    });
    await waitUntilSettled(agent);
    const first = await agent.invoke({});
    assert.equal(first.status, 200, first.text);
    const number = (res: typeof first, name: string) => {
      const value = res.headers[name];
      return value === undefined ? undefined : Number(value);
    };
    const initStart = number(first, 'x-lamina-init-start-ms');
    const initDuration = number(first, 'x-lamina-init-duration-ms');
    const invokeStart = number(first, 'x-lamina-invoke-start-ms');
    assert.ok(
      initStart !== undefined && initDuration !== undefined && invokeStart !== undefined,
      JSON.stringify(first.headers),
    );
    assert.ok(initStart < 0, `Init ran before this invoke: ${initStart}`);
    assert.ok(initStart + initDuration <= invokeStart, 'Init ended before the Invoke phase began');
    assert.ok(Number.isFinite(number(first, 'x-lamina-invoke-duration-ms')));

    const second = await agent.invoke({});
    assert.equal(second.headers['x-lamina-init-start-ms'], undefined);
    assert.equal(second.headers['x-lamina-init-duration-ms'], undefined);
    assert.ok(Number.isFinite(number(second, 'x-lamina-invoke-duration-ms')));
  });
});
