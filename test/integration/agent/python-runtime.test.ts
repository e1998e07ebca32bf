// The agent running real Python functions through Lamina's Python runtime client.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import {
  agentFixture,
  fixtureFiles,
  functionConfig,
  pythonVersion,
  startAgent,
  startArtifactStore,
  zipOf,
  type AgentProcess,
  type ArtifactStore,
} from './harness.js';

type Json = Record<string, unknown>;

describe(`agent with python3.13 (tests run ${pythonVersion})`, () => {
  let store: ArtifactStore;
  let agent: AgentProcess;

  before(async () => {
    store = await startArtifactStore();
    const code = store.put(zipOf(fixtureFiles('python/basic')));
    const layerA = store.put(
      zipOf({
        'python/layerlib.py': 'NAME = "a"\n',
        [`python/lib/${pythonVersion}/site-packages/sitelib.py`]: 'NAME = "site a"\n',
      }),
    );
    const layerB = store.put(zipOf({ 'python/layerlib.py': 'NAME = "b"\n' }));
    agent = await startAgent({
      fn: functionConfig({
        functionName: 'pyfn',
        runtime: 'python3.13',
        handler: 'app.handler',
        code,
        layers: [layerA, layerB],
        timeout: 2,
        environment: { MY_VAR: 'py value', PYTHONPATH: '/custom/path' },
      }),
    });
  });

  after(async () => {
    await agent?.stop();
    await store?.close();
  });

  test('returns the handler result and reports Init on the first invoke only', async () => {
    const first = await agent.invoke({ action: 'echo', n: 1 });
    assert.equal(first.status, 200);
    assert.equal(first.headers['x-amz-function-error'], undefined);
    assert.deepEqual(first.json<Json>().event, { action: 'echo', n: 1 });
    assert.ok(first.headers['x-lamina-init-duration-ms']);
    const second = await agent.invoke({ action: 'echo' });
    assert.equal(second.headers['x-lamina-init-duration-ms'], undefined);
  });

  test('parses the event as JSON whatever content type the client sent (the AWS SDKs send octet-stream)', async () => {
    const res = await agent.invoke(
      { action: 'echo', k: 'v' },
      { 'Content-Type': 'application/octet-stream' },
    );
    assert.deepEqual(res.json<Json>().event, { action: 'echo', k: 'v' });
  });

  test('keeps module state and /tmp between warm invocations', async () => {
    const marker = join(agent.tmp, 'py-counter');
    const a = (await agent.invoke({ action: 'counter', marker })).json<Json>();
    const b = (await agent.invoke({ action: 'counter', marker })).json<Json>();
    assert.equal(b.invocations, (a.invocations as number) + 1);
    assert.equal(b.tmpCount, (a.tmpCount as number) + 1);
    assert.equal(b.pid, a.pid);
  });

  test('passes the context object, environment and sys.path', async () => {
    const res = await agent.invoke(
      { action: 'context_fields' },
      {
        'X-Amzn-RequestId': 'py-ctx-1',
        'X-Amz-Client-Context': Buffer.from(
          JSON.stringify({ client: { app_title: 'py app' }, custom: { c: 1 } }),
        ).toString('base64'),
      },
    );
    const ctx = res.json<Json & { env: Record<string, string>; sys_path: string[] }>();
    assert.equal(ctx.aws_request_id, 'py-ctx-1');
    assert.equal(ctx.function_name, 'pyfn');
    assert.equal(ctx.function_version, '$LATEST');
    assert.equal(ctx.invoked_function_arn, 'arn:aws:lambda:us-east-1:default:function:pyfn');
    assert.equal(ctx.memory_limit_in_mb, '128');
    assert.equal(ctx.log_group_name, '/aws/lambda/pyfn');
    assert.ok((ctx.remaining as number) > 0 && (ctx.remaining as number) <= 2000);
    assert.equal(ctx.identity_id, null);
    assert.deepEqual(ctx.client_custom, { c: 1 });
    assert.equal(ctx.client_app_title, 'py app');
    assert.equal(ctx.cwd, agent.taskRoot);
    assert.equal(ctx.env.AWS_EXECUTION_ENV, 'AWS_Lambda_python3.13');
    assert.equal(ctx.env._HANDLER, 'app.handler');
    assert.equal(ctx.env.MY_VAR, 'py value');
    assert.equal(ctx.env.PYTHONPATH, '/custom/path', 'PYTHONPATH is the user’s to override');
    assert.equal(
      ctx.env.LAMINA_OPT_ROOT,
      undefined,
      'the runtime client keeps its own settings out of os.environ',
    );
    assert.deepEqual(ctx.sys_path.slice(0, 3), [
      agent.taskRoot,
      `${agent.optRoot}/python/lib/${pythonVersion}/site-packages`,
      `${agent.optRoot}/python`,
    ]);
    assert.ok(
      !ctx.sys_path.some((p) => p.endsWith('runtimes/python')),
      'the runtime client directory is not importable',
    );
  });

  test('imports from <opt>/python and its site-packages, later layers winning', async () => {
    const res = (await agent.invoke({ action: 'layers' })).json<Json>();
    assert.equal(res.layerlib, 'b');
    assert.equal(res.sitelib, 'site a');
    assert.equal(res.layerlib_file, `${agent.optRoot}/python/layerlib.py`);
  });

  test('reports an exception with errorMessage, errorType, requestId and stackTrace', async () => {
    const res = await agent.invoke({ action: 'throws' }, { 'X-Amzn-RequestId': 'py-err-1' });
    assert.equal(res.headers['x-amz-function-error'], 'Unhandled');
    const error = res.json<{
      errorMessage: string;
      errorType: string;
      requestId: string;
      stackTrace: string[];
    }>();
    assert.deepEqual(Object.keys(error), ['errorMessage', 'errorType', 'requestId', 'stackTrace']);
    assert.equal(error.errorMessage, 'boom from python');
    assert.equal(error.errorType, 'ValueError');
    assert.equal(error.requestId, 'py-err-1');
    assert.match(error.stackTrace[0] ?? '', /^ {2}File ".*app\.py", line \d+, in handler\n/);
    assert.ok(
      error.stackTrace.every((frame) => !frame.includes('lamina_runtime')),
      'runtime frames are hidden',
    );
  });

  test('reports Runtime.MarshalError for a result JSON cannot represent', async () => {
    const res = await agent.invoke({ action: 'unserialisable' });
    assert.equal(res.headers['x-amz-function-error'], 'Unhandled');
    const error = res.json();
    assert.equal(error.errorType, 'Runtime.MarshalError');
    assert.match(
      String(error.errorMessage),
      /^Unable to marshal response: Object of type set is not JSON serializable/,
    );
  });

  test('captures print() and logging output in the Tail log', async () => {
    const res = await agent.invoke(
      { action: 'log', lines: ['printed'] },
      { 'X-Amz-Log-Type': 'Tail', 'X-Amzn-RequestId': 'py-log' },
    );
    const tail = Buffer.from(String(res.headers['x-amz-log-result']), 'base64').toString('utf8');
    assert.match(
      tail,
      /^START RequestId: py-log Version: \$LATEST\nprinted\n\[INFO\]\t\S+Z\tpy-log\tvia logging\nEND RequestId: py-log\nREPORT RequestId: py-log\t/,
    );
  });

  test('times out and recovers with a fresh Init', async () => {
    const before = (await agent.invoke({ action: 'echo' })).json<Json>().pid;
    const res = await agent.invoke({ action: 'sleep', ms: 10_000 }, { 'X-Amzn-RequestId': 'py-slow' });
    assert.deepEqual(res.json(), {
      errorType: 'Sandbox.Timedout',
      errorMessage: 'RequestId: py-slow Error: Task timed out after 2.00 seconds',
    });
    assert.equal(res.headers['x-lamina-environment-reset'], 'true');
    const next = await agent.invoke({ action: 'echo' });
    assert.equal(next.status, 200);
    assert.notEqual(next.json<Json>().pid, before);
    assert.ok(next.headers['x-lamina-init-duration-ms']);
  });

  test('reports sys.exit as Runtime.ExitError and recovers', async () => {
    const res = await agent.invoke({ action: 'exit_now', code: 2 }, { 'X-Amzn-RequestId': 'py-exit' });
    assert.deepEqual(res.json(), {
      errorType: 'Runtime.ExitError',
      errorMessage: 'RequestId: py-exit Error: Runtime exited with error: exit status 2',
    });
    await agent.waitForStdout(
      /about to exit\nRequestId: py-exit Error: Runtime exited with error: exit status 2\nRuntime.ExitError\nEND RequestId: py-exit/,
    );
    assert.equal((await agent.invoke({ action: 'echo' })).status, 200);
  });

  test('returns Function.ResponseSizeTooLarge for a result over 6 MB', async () => {
    const res = await agent.invoke({ action: 'big', bytes: 6 * 1024 * 1024 + 200 });
    assert.equal(res.json().errorType, 'Function.ResponseSizeTooLarge');
    assert.equal((await agent.invoke({ action: 'echo' })).status, 200);
  });
});

describe('python3.13 handler loading and init errors', () => {
  const fixture = agentFixture();

  async function invokeWith(handler: string, files = fixtureFiles('python/basic')) {
    const code = fixture.store.put(zipOf(files));
    const agent = await fixture.start({ fn: functionConfig({ runtime: 'python3.13', handler, code }) });
    return agent.invoke({});
  }

  test('loads a handler from a package path (pkg/mod.handler)', async () => {
    assert.deepEqual((await invokeWith('pkg/mod.handler')).json(), { from: 'pkg/mod.py' });
  });

  const initErrors: [string, string, RegExp, Record<string, string>?][] = [
    ['app.missing', 'Runtime.HandlerNotFound', /^Handler 'missing' missing on module 'app'$/],
    [
      'import_error.handler',
      'Runtime.ImportModuleError',
      /^Unable to import module 'import_error': No module named 'definitely_not_installed'$/,
    ],
    [
      'nowhere.handler',
      'Runtime.ImportModuleError',
      /^Unable to import module 'nowhere': No module named 'nowhere'$/,
    ],
    ['nodot', 'Runtime.MalformedHandlerName', /^Bad handler 'nodot': /],
    ['raise_at_import.handler', 'KeyError', /init went wrong/],
    [
      'syntax.handler',
      'Runtime.UserCodeSyntaxError',
      /^Syntax error in module 'syntax': /,
      { 'syntax.py': 'def handler(:\n' },
    ],
  ];
  for (const [handler, errorType, message, files] of initErrors) {
    test(`reports ${errorType} for handler '${handler}'`, async () => {
      const res = await invokeWith(handler, files ?? fixtureFiles('python/basic'));
      assert.equal(res.headers['x-amz-function-error'], 'Unhandled');
      const error = res.json();
      assert.equal(error.errorType, errorType);
      assert.match(String(error.errorMessage), message);
      assert.equal(error.requestId, '', 'Init errors carry no request id');
      assert.ok(Array.isArray(error.stackTrace));
    });
  }
});
