// AWS's own runtime interface clients, unchanged, against the real agent: the proof that the
// agent implements the published Runtime API. Each client is built or installed from its
// registry into the test cache on first use (test/harness/third-party.ts); a build or install
// that fails fails the suite.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import {
  goBootstrap,
  npmPackage,
  pipTarget,
  rustBootstrap,
  ensureDebianPackages,
} from '../../harness/third-party.js';
import {
  agentFixture,
  filesUnder,
  fixtureFiles,
  fixturesDir,
  functionConfig,
  pythonBin,
  zipOf,
  type AgentFixture,
  type AgentProcess,
  type ZipSpec,
} from './harness.js';

type Json = Record<string, unknown>;

const AWS_LAMBDA_RIC_VERSION = '4.0.2';
const AWSLAMBDARIC_VERSION = '4.2.2';
const thirdParty = join(fixturesDir, 'third-party');

/** Specialises a fresh agent as `provided.al2023` with the given code (and layer). */
async function providedAgent(
  fixture: AgentFixture,
  code: ZipSpec,
  options: {
    layer?: ZipSpec;
    timeout?: number;
    handler?: string;
    environment?: (agent: AgentProcess) => Record<string, string>;
  } = {},
): Promise<AgentProcess> {
  const agent = await fixture.start();
  const res = await agent.specialize(
    functionConfig({
      runtime: 'provided.al2023',
      handler: options.handler ?? 'function.handler',
      code: fixture.store.put(zipOf(code)),
      layers: options.layer ? [fixture.store.put(zipOf(options.layer))] : [],
      timeout: options.timeout ?? 3,
      environment: options.environment?.(agent) ?? {},
    }),
  );
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json().state, 'ready', res.text);
  return agent;
}

/** The decoded X-Amz-Log-Result of an invoke asked for with X-Amz-Log-Type: Tail. */
function tailOf(res: { headers: Record<string, unknown> }): string {
  return Buffer.from(String(res.headers['x-amz-log-result'] ?? ''), 'base64').toString('utf8');
}

describe('aws-lambda-go (github.com/aws/aws-lambda-go) as provided.al2023', () => {
  const fixture = agentFixture();
  let agent: AgentProcess;
  before(async () => {
    const bootstrap = goBootstrap(join(thirdParty, 'go'));
    agent = await providedAgent(
      fixture,
      { bootstrap: { data: readFileSync(bootstrap), mode: 0o755 } },
      { timeout: 1 },
    );
  });

  test('returns the handler result with the invoke context filled in', async () => {
    const res = await agent.invoke(
      { action: 'echo', value: 'hi' },
      {
        'X-Amzn-RequestId': 'go-ok',
        'X-Lamina-Invoked-Function-Arn': 'arn:aws:lambda:us-east-1:default:function:calc:live',
        'X-Amz-Log-Type': 'Tail',
      },
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-amz-function-error'], undefined);
    assert.deepEqual(res.json(), {
      echo: 'hi',
      requestId: 'go-ok',
      functionArn: 'arn:aws:lambda:us-east-1:default:function:calc:live',
      hasDeadline: true,
      handler: 'function.handler',
    });
    const tail = tailOf(res);
    assert.match(tail, /^START RequestId: go-ok /m);
    assert.match(tail, /^go handler got action=echo$/m);
    assert.match(tail, /^END RequestId: go-ok$/m);
    assert.match(tail, /^REPORT RequestId: go-ok\tDuration: /m);
  });

  test('reports a returned error as {errorMessage, errorType} with the Go type name', async () => {
    const res = await agent.invoke({ action: 'error' });
    assert.equal(res.headers['x-amz-function-error'], 'Unhandled');
    assert.deepEqual(res.json(), { errorMessage: 'go handler was asked to fail', errorType: 'errorString' });
  });

  test('reports a panic with its stack trace, and the next invoke runs in a new runtime', async () => {
    const res = await agent.invoke({ action: 'panic' });
    assert.equal(res.headers['x-amz-function-error'], 'Unhandled');
    const error = res.json<{ errorMessage: string; errorType: string; stackTrace: { label: string }[] }>();
    assert.equal(error.errorMessage, 'go handler panicked');
    assert.equal(error.errorType, 'string');
    assert.ok(
      error.stackTrace.some((frame) => frame.label.includes('handle')),
      JSON.stringify(error.stackTrace),
    );
    // aws-lambda-go exits after reporting a panic; the agent starts the runtime again.
    const next = await agent.invoke({ action: 'echo', value: 'after panic' });
    assert.equal(next.headers['x-amz-function-error'], undefined, next.text);
    assert.equal(next.json().echo, 'after panic');
    assert.ok(next.headers['x-lamina-init-duration-ms'], 'the invoke after the panic paid for an Init');
  });

  test('answers a handler that outlives its deadline with Sandbox.Timedout and resets the runtime', async () => {
    const res = await agent.invoke({ action: 'hang' }, { 'X-Amzn-RequestId': 'go-hang' });
    assert.equal(res.headers['x-amz-function-error'], 'Unhandled');
    assert.equal(res.headers['x-lamina-environment-reset'], 'true');
    assert.deepEqual(res.json(), {
      errorType: 'Sandbox.Timedout',
      errorMessage: 'RequestId: go-hang Error: Task timed out after 1.00 seconds',
    });
    const next = await agent.invoke({ action: 'echo', value: 'after timeout' });
    assert.equal(next.json().echo, 'after timeout');
  });

  test('a handler waiting on ctx.Done() ends at the deadline as a function error', async () => {
    const res = await agent.invoke({ action: 'deadline' }, { 'X-Amzn-RequestId': 'go-deadline' });
    assert.equal(res.headers['x-amz-function-error'], 'Unhandled');
    // The context's deadline is the invoke's deadline: either the client's error document
    // (context.DeadlineExceeded) or the platform's timeout reaches the caller first.
    const body = res.json();
    const timedOut = {
      errorType: 'Sandbox.Timedout',
      errorMessage: 'RequestId: go-deadline Error: Task timed out after 1.00 seconds',
    };
    const deadlineExceeded = {
      errorMessage: 'context deadline exceeded',
      errorType: 'deadlineExceededError',
    };
    assert.deepEqual(body, body.errorType === 'Sandbox.Timedout' ? timedOut : deadlineExceeded);
  });
});

describe('lambda_runtime (Rust crate) as provided.al2023', () => {
  const fixture = agentFixture();
  let agent: AgentProcess;
  before(async () => {
    const bootstrap = rustBootstrap(join(thirdParty, 'rust'));
    agent = await providedAgent(fixture, { bootstrap: { data: readFileSync(bootstrap), mode: 0o755 } });
  });

  test('returns the handler result with the invoke context filled in', async () => {
    const res = await agent.invoke(
      { action: 'echo', value: 42 },
      { 'X-Amzn-RequestId': 'rust-ok', 'X-Amz-Log-Type': 'Tail' },
    );
    assert.equal(res.headers['x-amz-function-error'], undefined, res.text);
    assert.deepEqual(res.json(), {
      echo: 42,
      requestId: 'rust-ok',
      functionArn: 'arn:aws:lambda:us-east-1:default:function:calc',
      handler: 'function.handler',
    });
    assert.match(tailOf(res), /^rust handler got action=echo$/m);
  });

  test('reports a returned error as {errorType, errorMessage}', async () => {
    const res = await agent.invoke({ action: 'error' });
    assert.equal(res.headers['x-amz-function-error'], 'Unhandled');
    // lambda_runtime names the error by its Rust type.
    assert.deepEqual(res.json(), {
      errorType: '&alloc::boxed::Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>',
      errorMessage: 'rust handler was asked to fail',
    });
  });

  test('reports a panic as a function error and keeps serving', async () => {
    const res = await agent.invoke({ action: 'panic' });
    assert.equal(res.headers['x-amz-function-error'], 'Unhandled');
    assert.deepEqual(res.json(), {
      errorType: '&alloc::boxed::Box<dyn core::any::Any + core::marker::Send>',
      errorMessage: 'Lambda panicked: rust handler panicked',
    });
    const next = await agent.invoke({ action: 'echo', value: 'after panic' });
    assert.equal(next.json().echo, 'after panic');
  });
});

describe("AWS's Node.js runtime interface client (aws-lambda-ric) as a custom runtime", () => {
  const fixture = agentFixture();
  let agent: AgentProcess;
  before(async () => {
    // aws-lambda-ric compiles aws-lambda-cpp and curl from source with node-gyp.
    ensureDebianPackages(['g++', 'make', 'cmake', 'autoconf', 'automake', 'libtool', 'unzip', 'python3']);
    const prefix = npmPackage('aws-lambda-ric', AWS_LAMBDA_RIC_VERSION);
    agent = await providedAgent(
      fixture,
      {
        ...fixtureFiles('node/basic'),
        bootstrap: `#!/bin/sh\nexec "${process.execPath}" "${prefix}/node_modules/aws-lambda-ric/index.mjs" "$_HANDLER"\n`,
      },
      { handler: 'index.handler' },
    );
  });

  test('serves invocations with the Lambda context', async () => {
    const res = await agent.invoke({ action: 'context' }, { 'X-Amzn-RequestId': 'node-ric-ctx' });
    assert.equal(res.headers['x-amz-function-error'], undefined, res.text);
    const ctx = res.json<Json>();
    assert.equal(ctx.awsRequestId, 'node-ric-ctx');
    assert.equal(ctx.functionName, 'calc');
    assert.equal(ctx.invokedFunctionArn, 'arn:aws:lambda:us-east-1:default:function:calc');
    assert.ok((ctx.remaining as number) > 0);
  });

  test("reports a thrown error in the shape of Lambda's Node.js runtime", async () => {
    const res = await agent.invoke({ action: 'throws' });
    assert.equal(res.headers['x-amz-function-error'], 'Unhandled');
    const error = res.json<{ errorType: string; errorMessage: string; trace: string[] }>();
    assert.equal(error.errorType, 'TypeError');
    assert.equal(error.errorMessage, 'boom from node');
    assert.match(error.trace[0] ?? '', /^TypeError: boom from node/);
  });
});

describe("AWS's Python runtime interface client (awslambdaric), unchanged", () => {
  const fixture = agentFixture();
  let agent: AgentProcess;
  before(async () => {
    const site = pipTarget(pythonBin, [`awslambdaric==${AWSLAMBDARIC_VERSION}`]);
    agent = await providedAgent(
      fixture,
      {
        ...fixtureFiles('python/basic'),
        bootstrap: `#!/bin/sh\nexec "${pythonBin}" -m awslambdaric "$_HANDLER"\n`,
      },
      {
        layer: filesUnder(site, 'python/'),
        handler: 'app.handler',
        environment: (started) => ({ PYTHONPATH: `${started.optRoot}/python` }),
      },
    );
  });

  test('serves invocations', async () => {
    const res = await agent.invoke({ action: 'echo', via: 'awslambdaric' });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json<Json>().event, { action: 'echo', via: 'awslambdaric' });
    const ctx = (
      await agent.invoke({ action: 'context_fields' }, { 'X-Amzn-RequestId': 'ric-ctx' })
    ).json<Json>();
    assert.equal(ctx.aws_request_id, 'ric-ctx');
    assert.equal(ctx.function_name, 'calc');
    assert.ok((ctx.remaining as number) > 0);
  });

  test("reports errors in the same shape as Lamina's Python client", async () => {
    const res = await agent.invoke({ action: 'throws' }, { 'X-Amzn-RequestId': 'ric-err' });
    assert.equal(res.headers['x-amz-function-error'], 'Unhandled');
    const error = res.json<{ stackTrace: string[] }>();
    assert.deepEqual(Object.keys(error), ['errorMessage', 'errorType', 'requestId', 'stackTrace']);
    assert.equal(res.json().errorType, 'ValueError');
    assert.equal(res.json().errorMessage, 'boom from python');
    assert.equal(res.json().requestId, 'ric-err');
  });
});
