// The gateway ↔ agent contract: the gateway's own client (HttpAgentClient: invoke and
// specialise) against the real agent process. The unit tier's fake agent (test/unit/gateway/fake-agent.ts)
// answers the same cases; this file keeps the fake honest.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AgentUnavailableError,
  HttpAgentClient,
  SpecializeError,
  type AgentInvokeRequest,
} from '../../../../operator/src/gateway/environments/agent-client.js';
import type { AgentFunctionConfig } from '../../../../operator/src/gateway/environments/types.js';
import {
  agentFixture,
  fixtureFiles,
  functionConfig,
  zipOf,
  type AgentFixture,
  type AgentProcess,
} from '../../agent/harness.js';

const ARN = 'arn:aws:lambda:us-east-1:default:function:calc';

const request = (event: unknown, fields: Partial<AgentInvokeRequest> = {}): AgentInvokeRequest => ({
  requestId: `contract-${Math.random().toString(16).slice(2, 10)}`,
  payload: Buffer.from(JSON.stringify(event)),
  invokedFunctionArn: ARN,
  tail: false,
  timeoutMs: 20_000,
  ...fields,
});

const json = (payload: Buffer): Record<string, unknown> =>
  JSON.parse(payload.toString()) as Record<string, unknown>;

const decodeTail = (logResult: string | undefined): string =>
  Buffer.from(logResult ?? '', 'base64').toString('utf8');

const addressOf = (agent: AgentProcess): string => `http://127.0.0.1:${agent.port}`;

function nodeFunction(fixture: AgentFixture, fields: Record<string, unknown> = {}): AgentFunctionConfig {
  return functionConfig({
    runtime: 'nodejs20.x',
    handler: 'index.handler',
    code: fixture.store.put(zipOf(fixtureFiles('node/basic'))),
    ...fields,
  }) as unknown as AgentFunctionConfig;
}

describe('gateway ↔ agent contract', () => {
  const fixture = agentFixture();
  const client = new HttpAgentClient();
  const specializer = new HttpAgentClient();
  after(async () => {
    await client.close();
    await specializer.close();
  });

  describe('a specialised environment', () => {
    let agent: AgentProcess;
    let address: string;
    before(async () => {
      agent = await fixture.start();
      address = addressOf(agent);
    });

    test('specialize answers ready with the Init duration, and a second specialize is refused', async () => {
      const config = nodeFunction(fixture, { timeout: 1 });
      const result = await specializer.specialize(address, config, 20_000);
      assert.equal(result.state, 'ready');
      assert.ok((result.initDurationMs ?? 0) > 0, JSON.stringify(result));
      await assert.rejects(
        specializer.specialize(address, config, 20_000),
        (err: unknown) => err instanceof SpecializeError && err.errorType === 'Lamina.AlreadySpecialized',
      );
    });

    test('the first invoke returns the payload and the Init duration, no function error, no reset', async () => {
      const result = await client.invoke(address, request({ action: 'echo', n: 1 }));
      assert.deepEqual(json(result.payload).event, { action: 'echo', n: 1 });
      assert.equal(result.functionError, undefined);
      assert.equal(result.logResult, undefined);
      assert.equal(result.environmentReset, false);
      assert.ok((result.initDurationMs ?? 0) > 0, 'the first invoke after specialize carries the Init');
    });

    test('passes the request id, ARN and client context through to the handler', async () => {
      const clientContext = Buffer.from(JSON.stringify({ custom: { a: 1 } })).toString('base64');
      const result = await client.invoke(
        address,
        request(
          { action: 'context' },
          { requestId: 'contract-ctx', invokedFunctionArn: `${ARN}:live`, clientContext },
        ),
      );
      assert.equal(result.initDurationMs, undefined, 'a warm invoke carries no Init duration');
      const ctx = json(result.payload);
      assert.equal(ctx.awsRequestId, 'contract-ctx');
      assert.equal(ctx.invokedFunctionArn, `${ARN}:live`);
      assert.deepEqual(ctx.clientContext, { custom: { a: 1 } });
    });

    test('a thrown error is functionError Unhandled with the error document as payload', async () => {
      const result = await client.invoke(address, request({ action: 'throws' }));
      assert.equal(result.functionError, 'Unhandled');
      assert.equal(json(result.payload).errorType, 'TypeError');
      assert.equal(json(result.payload).errorMessage, 'boom from node');
      assert.equal(result.environmentReset, false);
    });

    test('tail returns the base64 log of this invocation: START, its output, END, REPORT', async () => {
      const result = await client.invoke(
        address,
        request(
          { action: 'log', lines: ['first line', 'second line'] },
          { requestId: 'contract-tail', tail: true },
        ),
      );
      const tail = decodeTail(result.logResult);
      assert.match(tail, /^START RequestId: contract-tail Version: \$LATEST$/m);
      assert.match(tail, /\tINFO\tfirst line$/m);
      assert.match(tail, /\tINFO\tsecond line$/m);
      assert.match(tail, /^END RequestId: contract-tail$/m);
      assert.match(tail, /^REPORT RequestId: contract-tail\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms/m);
    });

    test('a second invoke while one runs is refused at once as busy', async () => {
      const running = client.invoke(
        address,
        request({ action: 'sleep', ms: 500 }, { requestId: 'contract-busy' }),
      );
      await agent.waitForStdout(/^START RequestId: contract-busy Version/m);
      await assert.rejects(
        client.invoke(address, request({ action: 'echo' })),
        (err: unknown) =>
          err instanceof AgentUnavailableError && err.busy && /Lamina\.EnvironmentBusy/.test(err.message),
      );
      assert.equal(json((await running).payload).slept, 500);
    });

    test('a timeout resets the environment, and the next invoke reports the Init it paid for', async () => {
      const result = await client.invoke(
        address,
        request({ action: 'sleep', ms: 5000 }, { requestId: 'contract-timeout' }),
      );
      assert.equal(result.functionError, 'Unhandled');
      assert.equal(result.environmentReset, true);
      assert.deepEqual(json(result.payload), {
        errorType: 'Sandbox.Timedout',
        errorMessage: 'RequestId: contract-timeout Error: Task timed out after 1.00 seconds',
      });
      const next = await client.invoke(address, request({ action: 'echo' }));
      assert.equal(next.functionError, undefined);
      assert.ok((next.initDurationMs ?? 0) > 0, 'the invoke after a reset carries the Init duration');
      const warm = await client.invoke(address, request({ action: 'echo' }));
      assert.equal(warm.initDurationMs, undefined, 'a warm invoke carries no Init duration');
    });

    test('a runtime that exits mid-invoke is Runtime.ExitError with a reset', async () => {
      const result = await client.invoke(address, request({ action: 'exit', code: 3 }));
      assert.equal(result.functionError, 'Unhandled');
      assert.equal(result.environmentReset, true);
      assert.equal(json(result.payload).errorType, 'Runtime.ExitError');
    });
  });

  test('an environment started with its function reports the Init on its first invoke only', async () => {
    const agent = await fixture.start({ fn: nodeFunction(fixture) as unknown as Record<string, unknown> });
    const first = await client.invoke(addressOf(agent), request({ action: 'echo' }));
    assert.ok((first.initDurationMs ?? 0) > 0, 'the cold invoke carries the Init duration');
    const second = await client.invoke(addressOf(agent), request({ action: 'echo' }));
    assert.equal(second.initDurationMs, undefined);
  });

  test('an Init failure specialises to failed, and the next invoke answers with the Init error', async () => {
    const agent = await fixture.start();
    const result = await specializer.specialize(
      addressOf(agent),
      nodeFunction(fixture, { handler: 'initfail.handler' }),
      20_000,
    );
    assert.equal(result.state, 'failed');
    const res = await client.invoke(addressOf(agent), request({ action: 'echo' }));
    assert.equal(res.functionError, 'Unhandled');
    assert.equal(json(res.payload).errorType, 'RangeError');
    assert.equal(json(res.payload).errorMessage, 'init went wrong');
  });

  test('an environment with no function refuses an invoke, not as busy', async () => {
    const agent = await fixture.start();
    await assert.rejects(
      client.invoke(addressOf(agent), request({ action: 'echo' })),
      (err: unknown) => err instanceof AgentUnavailableError && !err.busy && /answered 409/.test(err.message),
    );
  });

  test('an address nobody listens on is unavailable, not busy', async () => {
    const agent = await fixture.start();
    const address = addressOf(agent);
    await agent.stop();
    await assert.rejects(
      client.invoke(address, request({ action: 'echo' })),
      (err: unknown) => err instanceof AgentUnavailableError && !err.busy && /unreachable/.test(err.message),
    );
  });
});
