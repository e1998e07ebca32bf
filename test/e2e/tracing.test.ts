// Tracing on the installed release: with tracing.otlpEndpoint pointing at an OTLP/HTTP
// receiver in this process (on the node's address), an invoke through the gateway Service is
// one trace under the caller's X-Amzn-Trace-Id — the gateway's span, the agent call and the
// runtime's Invoke, whose span id the function found as Parent in _X_AMZN_TRACE_ID.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { NODE_IP } from '../harness/cluster.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../harness/otlp-receiver.js';
import {
  createFunction,
  installedRelease,
  invokeUrl,
  setReleaseValues,
  testNamespace,
  type Release,
} from '../harness/release.js';

const CODE = `// ${randomBytes(8).toString('hex')}
export const handler = async () => ({ trace: process.env._X_AMZN_TRACE_ID ?? null });
`;

describe('invocation traces from the installed release', { timeout: 300_000 }, () => {
  let release: Release;
  let receiver: OtlpReceiver;
  let ns: Awaited<ReturnType<typeof testNamespace>>;
  let restoreValues: (() => Promise<void>) | undefined;

  before(async () => {
    release = await installedRelease();
    // The gateway pod reaches the test process on the node's address (it has no egress policy).
    receiver = await startOtlpReceiver(NODE_IP);
    restoreValues = await setReleaseValues(release, { 'tracing.otlpEndpoint': receiver.url });
    ns = await testNamespace(release, 'trace');
    await createFunction(release, ns.name, 'traced', CODE);
  });

  after(async () => {
    await ns?.dispose();
    await restoreValues?.();
    await receiver?.close();
  });

  it("exports the invoke as one trace under the caller's X-Amzn-Trace-Id, joined by the function", async () => {
    const traceId = `${Math.floor(Date.now() / 1000).toString(16)}${randomBytes(12).toString('hex')}`;
    const root = `1-${traceId.slice(0, 8)}-${traceId.slice(8)}`;
    const parent = randomBytes(8).toString('hex');
    const res = await fetch(invokeUrl(release, ns.name, 'traced'), {
      method: 'POST',
      body: '{}',
      headers: { 'X-Amzn-Trace-Id': `Root=${root};Parent=${parent};Sampled=1` },
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const handed = (JSON.parse(text) as { trace: string }).trace;

    // The batch goes out within the SDK's 5 s schedule.
    const spans = await receiver.trace(traceId, 4, 30_000);
    const named = (name: string) => spans.find((s) => s.name === name) as ReceivedSpan;
    const server = named('Invoke traced');
    const call = named('Agent call');
    const runtime = named('Invoke');
    assert.ok(server && call && runtime, spans.map((s) => s.name).join(', '));
    assert.equal(server.serviceName, 'lamina-gateway');
    assert.equal(server.parentSpanId, parent);
    assert.equal(server.attributes['faas.invoked_name'], 'traced');
    assert.equal(server.attributes['lamina.namespace'], ns.name);
    assert.equal(call.parentSpanId, server.spanId);
    assert.equal(runtime.parentSpanId, call.spanId);
    assert.equal(handed, `Root=${root};Parent=${runtime.spanId};Sampled=1`);
    // The first invoke of a new function starts its environment: the cold start is in the trace.
    assert.equal(server.attributes['faas.coldstart'], true);
    assert.equal(named('Start environment')?.parentSpanId, server.spanId);
  });
});
