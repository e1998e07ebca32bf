// Custom runtimes (provided, provided.al2023): a `bootstrap` that speaks the Runtime API.
// AWS's own clients run against the agent in third-party-clients.test.ts.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { ensureDebianPackages } from '../../harness/third-party.js';
import { agentFixture, fixtureFiles, functionConfig, zipOf, type AgentProcess } from './harness.js';

type Json = Record<string, unknown>;

describe('provided runtimes', () => {
  const fixture = agentFixture();

  async function agentFor(runtime: string, code: Buffer, extra: Record<string, unknown> = {}) {
    const agent = await fixture.start({
      fn: functionConfig({ runtime, handler: 'function.handler', code: fixture.store.put(code), ...extra }),
    });
    return agent;
  }

  test('runs <task>/bootstrap (a Python script) and reuses it warm', async () => {
    const agent = await agentFor('provided.al2023', zipOf(fixtureFiles('provided/python')));
    const first = (await agent.invoke({ n: 1 })).json<Json>();
    const second = (await agent.invoke({ n: 2 })).json<Json>();
    assert.deepEqual(first.event, { n: 1 });
    assert.equal(first.handler, 'function.handler');
    assert.equal(first.cwd, agent.taskRoot);
    assert.equal(first.script, `${agent.taskRoot}/bootstrap`);
    assert.equal(first.executionEnv, 'AWS_Lambda_provided.al2023');
    assert.match(String(first.deadline), /^\d{13}$/);
    assert.equal(second.count, 2);

    const failed = await agent.invoke({ fail: true });
    assert.equal(failed.headers['x-amz-function-error'], 'Unhandled');
    assert.deepEqual(failed.json(), {
      errorMessage: 'bootstrap was asked to fail',
      errorType: 'BootstrapFailure',
    });
  });

  test('runs <opt>/bootstrap from a layer when the code has none', async () => {
    const layer = fixture.store.put(zipOf(fixtureFiles('provided/python')));
    const agent = await agentFor('provided', zipOf({ 'readme.txt': 'no bootstrap here' }), {
      layers: [layer],
    });
    const res = (await agent.invoke({ from: 'layer' })).json<Json>();
    assert.equal(res.script, `${agent.optRoot}/bootstrap`);
  });

  test('runs the AWS tutorial shell bootstrap (curl)', async () => {
    ensureDebianPackages(['curl']);
    const agent = await agentFor('provided', zipOf(fixtureFiles('provided/shell')));
    assert.deepEqual((await agent.invoke({ n: 1 })).json(), {
      shell: true,
      handler: 'function.handler',
      event: { n: 1 },
    });
    assert.deepEqual((await agent.invoke({ n: 2 })).json(), {
      shell: true,
      handler: 'function.handler',
      event: { n: 2 },
    });
  });

  test('reports Runtime.InvalidEntrypoint when there is no bootstrap', async () => {
    const agent = await agentFor('provided', zipOf({ 'readme.txt': 'nothing to run' }));
    const res = await agent.invoke({}, { 'X-Amzn-RequestId': 'no-bootstrap' });
    assert.equal(res.headers['x-amz-function-error'], 'Unhandled');
    assert.deepEqual(res.json(), {
      errorType: 'Runtime.InvalidEntrypoint',
      errorMessage: `RequestId: no-bootstrap Error: Couldn't find valid bootstrap(s): [${agent.taskRoot}/bootstrap ${agent.optRoot}/bootstrap]`,
    });
  });

  test('reports Runtime.InvalidEntrypoint when the bootstrap is not executable', async () => {
    const agent = await agentFor(
      'provided',
      zipOf({ bootstrap: { data: '#!/bin/sh\necho never\n', mode: 0o644 } }),
    );
    const res = await agent.invoke({});
    assert.equal(res.json().errorType, 'Runtime.InvalidEntrypoint');
    assert.match(String(res.json().errorMessage), /fork\/exec .*\/bootstrap: permission denied$/);
  });

  describe('Runtime API statuses, seen by a plain HTTP client', () => {
    let agent: AgentProcess;
    before(async () => {
      agent = await agentFor('provided', zipOf(fixtureFiles('provided/probe')));
    });

    test('refuses a wrong request id (400), a second result (403) and an early /next (403)', async () => {
      const first = await agent.invoke(
        { step: 'statuses' },
        {
          'X-Amzn-RequestId': 'probe-1',
          'X-Amzn-Trace-Id': 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
          'X-Lamina-Invoked-Function-Arn': 'arn:aws:lambda:us-east-1:default:function:calc:live',
          'X-Amz-Client-Context': Buffer.from('{"custom":{"a":1}}').toString('base64'),
        },
      );
      assert.deepEqual(first.json(), { step: 'statuses' });
      const seen = (await agent.invoke({ step: 'report' })).json<
        Record<string, { status: number; body: string }>
      >();
      const body = (name: string) => JSON.parse(seen[name]?.body ?? 'null');

      assert.equal(seen.wrongIdResponse?.status, 400);
      assert.deepEqual(body('wrongIdResponse'), {
        errorMessage: 'Invalid request ID',
        errorType: 'InvalidRequestID',
      });
      assert.equal(seen.wrongIdError?.status, 400);
      assert.equal(seen.initErrorAfterInit?.status, 403);
      assert.equal(body('initErrorAfterInit').errorType, 'InvalidStateTransition');
      assert.equal(seen.nextWhileInvoking?.status, 403);
      assert.equal(seen.badResponseMode?.status, 400);
      assert.equal(body('badResponseMode').errorType, 'InvalidFunctionResponseMode');
      assert.equal(seen.firstResponse?.status, 202);
      assert.deepEqual(body('firstResponse'), { status: 'OK' });
      assert.equal(seen.secondResponse?.status, 403);
      assert.deepEqual(body('secondResponse'), {
        errorMessage:
          'State transition from RuntimeResponseSentState to InvocationResponse failed for runtime. Error: State transition is not allowed',
        errorType: 'InvalidStateTransition',
      });
      assert.equal(seen.errorAfterResponse?.status, 403);

      const headers = seen.nextHeaders as unknown as Record<string, string>;
      assert.match(headers.deadline ?? '', /^\d{13}$/);
      assert.equal(headers.arn, 'arn:aws:lambda:us-east-1:default:function:calc:live');
      assert.equal(
        headers.trace,
        'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
      );
      assert.equal(headers.clientContext, '{"custom":{"a":1}}');
      assert.equal(headers.contentType, 'application/json');
    });

    test('answers a result over 6 MB + 100 bytes with 413 and the invoke with Function.ResponseSizeTooLarge', async () => {
      const res = await agent.invoke({ step: 'oversized' });
      assert.equal(res.headers['x-amz-function-error'], 'Unhandled');
      assert.equal(res.json().errorType, 'Function.ResponseSizeTooLarge');
      const seen = (await agent.invoke({ step: 'report' })).json<
        Record<string, { status: number; body: string }>
      >();
      assert.equal(seen.oversized?.status, 413);
      assert.deepEqual(JSON.parse(seen.oversized?.body ?? ''), {
        errorMessage: 'Exceeded maximum allowed payload size (6291556 bytes).',
        errorType: 'RequestEntityTooLarge',
      });
    });

    test('accepts a result of exactly 6 MB + 100 bytes', async () => {
      const res = await agent.invoke({ step: 'exactly-the-limit' });
      assert.equal(res.headers['x-amz-function-error'], undefined);
      assert.equal(res.body.length, 6 * 1024 * 1024 + 100);
    });

    test('passes an error document through and honours Lambda-Runtime-Function-Error-Type', async () => {
      const custom = await agent.invoke({ step: 'custom-error' });
      assert.equal(custom.headers['x-amz-function-error'], 'Unhandled');
      assert.deepEqual(custom.json(), {
        errorMessage: 'custom failure',
        errorType: 'MyError',
        stackTrace: ['here'],
      });
      const empty = await agent.invoke({ step: 'empty-error' });
      assert.deepEqual(empty.json(), { errorType: 'Function.CustomFailure', errorMessage: '' });
    });
  });
});
