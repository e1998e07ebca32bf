// The agent running real Node.js functions through Lamina's Node.js runtime client.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import {
  agentFixture,
  fixtureFiles,
  functionConfig,
  startAgent,
  startArtifactStore,
  zipOf,
  type AgentProcess,
  type ArtifactStore,
} from './harness.js';

type Json = Record<string, unknown>;

describe('agent with nodejs20.x', () => {
  let store: ArtifactStore;
  let agent: AgentProcess;

  before(async () => {
    store = await startArtifactStore();
    const code = store.put(zipOf(fixtureFiles('node/basic')));
    const layerA = store.put(
      zipOf({
        'nodejs/node_modules/layer-lib/index.js': "module.exports = { name: 'a' };",
        'nodejs/node_modules/only-in-a/index.js': "module.exports = 'a';",
        'shared.txt': 'from layer a',
      }),
    );
    const layerB = store.put(
      zipOf({
        'nodejs/node_modules/layer-lib/index.js': "module.exports = { name: 'b' };",
        'shared.txt': 'from layer b',
      }),
    );
    agent = await startAgent({
      fn: functionConfig({
        runtime: 'nodejs20.x',
        handler: 'index.handler',
        code,
        layers: [layerA, layerB],
        timeout: 2,
        memorySize: 256,
        environment: { MY_VAR: 'my value', LANG: 'C.UTF-8' },
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
    assert.match(String(first.headers['x-lamina-init-duration-ms']), /^\d+\.\d\d$/);
    assert.equal(first.headers['x-amz-executed-version'], '$LATEST');

    const second = await agent.invoke({ action: 'echo', n: 2 });
    assert.equal(second.headers['x-lamina-init-duration-ms'], undefined);
    assert.equal(second.json<Json>().pid, first.json<Json>().pid);
  });

  test('hands an empty invoke body to the handler as {}', async () => {
    const res = await agent.invoke(Buffer.alloc(0), { 'Content-Type': 'application/json' });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json<Json>().event, {});
  });

  test('keeps module state and /tmp between warm invocations', async () => {
    const marker = join(agent.tmp, 'counter-marker');
    const a = (await agent.invoke({ action: 'counter', marker })).json<Json>();
    const b = (await agent.invoke({ action: 'counter', marker })).json<Json>();
    assert.equal(b.invocations, (a.invocations as number) + 1);
    assert.equal(b.tmpCount, (a.tmpCount as number) + 1);
    assert.equal(b.pid, a.pid);
  });

  test('passes the context object and the Lambda environment variables', async () => {
    const clientContext = { client: { app_title: 'app' }, custom: { k: 'v' }, env: { locale: 'en' } };
    const arn = 'arn:aws:lambda:us-east-1:default:function:calc:prod';
    const res = await agent.invoke(
      { action: 'context' },
      {
        'X-Amzn-RequestId': 'req-context-1',
        'X-Amz-Client-Context': Buffer.from(JSON.stringify(clientContext)).toString('base64'),
        'X-Lamina-Invoked-Function-Arn': arn,
        'X-Amzn-Trace-Id': 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
      },
    );
    assert.equal(res.headers['x-amzn-requestid'], 'req-context-1');
    const ctx = res.json<Json & { env: Record<string, string> }>();
    assert.equal(ctx.awsRequestId, 'req-context-1');
    assert.equal(ctx.functionName, 'calc');
    assert.equal(ctx.functionVersion, '$LATEST');
    assert.equal(ctx.invokedFunctionArn, arn);
    assert.equal(ctx.memoryLimitInMB, '256');
    assert.equal(ctx.logGroupName, '/aws/lambda/calc');
    assert.match(String(ctx.logStreamName), /^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    assert.ok((ctx.remaining as number) > 0 && (ctx.remaining as number) <= 2000);
    assert.equal(ctx.callbackWaitsForEmptyEventLoop, true);
    assert.deepEqual(ctx.clientContext, clientContext);
    assert.equal(ctx.cwd, agent.taskRoot);

    const env = ctx.env;
    assert.equal(env._HANDLER, 'index.handler');
    assert.equal(env.AWS_LAMBDA_FUNCTION_NAME, 'calc');
    assert.equal(env.AWS_LAMBDA_FUNCTION_VERSION, '$LATEST');
    assert.equal(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE, '256');
    assert.equal(env.AWS_LAMBDA_LOG_GROUP_NAME, '/aws/lambda/calc');
    assert.equal(env.AWS_LAMBDA_LOG_STREAM_NAME, ctx.logStreamName);
    assert.match(env.AWS_LAMBDA_RUNTIME_API ?? '', /^127\.0\.0\.1:\d+$/);
    assert.equal(env.AWS_REGION, 'us-east-1');
    assert.equal(env.AWS_DEFAULT_REGION, 'us-east-1');
    assert.equal(env.AWS_EXECUTION_ENV, 'AWS_Lambda_nodejs20.x');
    assert.equal(env.AWS_LAMBDA_INITIALIZATION_TYPE, 'on-demand');
    assert.equal(env.LAMBDA_TASK_ROOT, agent.taskRoot);
    assert.match(env.LAMBDA_RUNTIME_DIR ?? '', /runtime-image\/runtimes$/);
    assert.equal(env.TZ, ':UTC');
    assert.equal(env.LANG, 'C.UTF-8', 'an unreserved variable is overridable');
    assert.equal(env.MY_VAR, 'my value');
    assert.equal(
      env._X_AMZN_TRACE_ID,
      'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
    );
    assert.ok(env.PATH?.split(':').includes(`${agent.optRoot}/bin`));
    assert.ok(env.LD_LIBRARY_PATH?.split(':').includes(`${agent.optRoot}/lib`));
    assert.equal(
      env.NODE_PATH,
      `${agent.optRoot}/nodejs/node20/node_modules:${agent.optRoot}/nodejs/node_modules:` +
        `${env.LAMBDA_RUNTIME_DIR}/node_modules:${env.LAMBDA_RUNTIME_DIR}:${agent.taskRoot}`,
    );
  });

  test('passes a non-ASCII client context intact and refuses one that is not base64 JSON', async () => {
    const clientContext = { custom: { greeting: 'grüß dich — 你好', lines: 'a\nb' } };
    const res = await agent.invoke(
      { action: 'context' },
      { 'X-Amz-Client-Context': Buffer.from(JSON.stringify(clientContext)).toString('base64') },
    );
    assert.deepEqual(res.json<Json>().clientContext, clientContext);
    const bad = await agent.invoke(
      { action: 'echo' },
      { 'X-Amz-Client-Context': Buffer.from('not json').toString('base64') },
    );
    assert.equal(bad.status, 400);
    assert.equal(bad.json().errorType, 'InvalidRequestContentException');
  });

  test('extracts layers in order (the later file wins) and resolves modules from them', async () => {
    const res = await agent.invoke({ action: 'layers', optRoot: agent.optRoot });
    assert.deepEqual(res.json(), { lib: 'b', shared: 'from layer b' });
  });

  test('reports a thrown error as Unhandled with errorType, errorMessage and trace', async () => {
    const res = await agent.invoke({ action: 'throws' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-amz-function-error'], 'Unhandled');
    const error = res.json<{ errorType: string; errorMessage: string; trace: string[] }>();
    assert.equal(error.errorType, 'TypeError');
    assert.equal(error.errorMessage, 'boom from node');
    assert.equal(error.trace[0], 'TypeError: boom from node');
    assert.ok(error.trace.some((line) => line.includes('index.js')));
    assert.equal(res.headers['x-lamina-environment-reset'], undefined);
  });

  test('reports a result that cannot be serialised', async () => {
    const res = await agent.invoke({ action: 'unserialisable' });
    assert.equal(res.headers['x-amz-function-error'], 'Unhandled');
    assert.equal(res.json().errorMessage, 'Unable to stringify response body');
  });

  test('returns the last 4 KB of the invocation log with LogType Tail', async () => {
    const lines = Array.from({ length: 200 }, (_, i) => `line number ${i} ${'.'.repeat(20)}`);
    const res = await agent.invoke(
      { action: 'log', lines },
      { 'X-Amz-Log-Type': 'Tail', 'X-Amzn-RequestId': 'tail-1' },
    );
    const tail = Buffer.from(String(res.headers['x-amz-log-result']), 'base64');
    assert.equal(tail.length, 4096);
    const text = tail.toString('utf8');
    assert.match(text, /\tINFO\tline number 199 /);
    assert.match(text, /tail-1\tINFO\tline number 199/);
    assert.match(
      text,
      /raw line without newline\nEND RequestId: tail-1\nREPORT RequestId: tail-1\tDuration: /,
    );
    assert.doesNotMatch(text, /line number 0 /, 'only the last 4 KB');

    const short = await agent.invoke(
      { action: 'log', lines: ['hello'] },
      { 'X-Amz-Log-Type': 'Tail', 'X-Amzn-RequestId': 'tail-2' },
    );
    const shortText = Buffer.from(String(short.headers['x-amz-log-result']), 'base64').toString('utf8');
    assert.match(shortText, /^START RequestId: tail-2 Version: \$LATEST\n.*\ttail-2\tINFO\thello\n/);
  });

  test('writes START, END and REPORT lines around the function output on stdout', async () => {
    await agent.invoke({ action: 'log', lines: ['between the lines'] }, { 'X-Amzn-RequestId': 'framed-1' });
    await agent.waitForStdout(/REPORT RequestId: framed-1/);
    const out = agent.stdout();
    const block = out.slice(out.indexOf('START RequestId: framed-1'));
    assert.match(
      block,
      /^START RequestId: framed-1 Version: \$LATEST\n.*\tframed-1\tINFO\tbetween the lines\nraw line without newline\nEND RequestId: framed-1\nREPORT RequestId: framed-1\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: 256 MB\tMax Memory Used: \d+ MB\t\n/,
    );
    assert.equal((out.match(/Init Duration: /g) ?? []).length >= 1, true);
    assert.doesNotMatch(block.split('\n')[3] ?? '', /Init Duration/);
  });

  test('answers a concurrent invoke with 503 EnvironmentBusy at once', async () => {
    const slow = agent.invoke({ action: 'sleep', ms: 1000 });
    for (let i = 0; i < 200 && (await agent.health()).json().busy !== true; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const busy = await agent.invoke({ action: 'echo' });
    assert.equal(busy.status, 503);
    assert.equal(busy.json().errorType, 'Lamina.EnvironmentBusy');
    assert.equal(busy.headers['x-amzn-errortype'], 'Lamina.EnvironmentBusy');
    assert.equal((await slow).status, 200);
  });

  test('returns Function.ResponseSizeTooLarge for a result over 6 MB and keeps the environment', async () => {
    const before = (await agent.invoke({ action: 'echo' })).json<Json>().pid;
    const res = await agent.invoke({ action: 'big', bytes: 7 * 1024 * 1024 });
    assert.equal(res.headers['x-amz-function-error'], 'Unhandled');
    assert.deepEqual(res.json(), {
      errorMessage: 'Response payload size exceeded maximum allowed payload size (6291556 bytes).',
      errorType: 'Function.ResponseSizeTooLarge',
    });
    const afterwards = await agent.invoke({ action: 'echo' });
    assert.equal(afterwards.json<Json>().pid, before);
  });

  test('times out, resets the runtime, and serves the next invoke after a fresh Init', async () => {
    const before = (await agent.invoke({ action: 'echo' })).json<Json>().pid;
    const res = await agent.invoke({ action: 'sleep', ms: 10_000 }, { 'X-Amzn-RequestId': 'slow-1' });
    assert.equal(res.headers['x-amz-function-error'], 'Unhandled');
    assert.equal(res.headers['x-lamina-environment-reset'], 'true');
    assert.deepEqual(res.json(), {
      errorType: 'Sandbox.Timedout',
      errorMessage: 'RequestId: slow-1 Error: Task timed out after 2.00 seconds',
    });
    await agent.waitForStdout(/REPORT RequestId: slow-1.*Status: timeout/);
    assert.match(agent.stdout(), /\n\d{4}-\d\d-\d\dT[\d:.]+Z slow-1 Task timed out after 2.00 seconds\n/);

    const next = await agent.invoke({ action: 'echo' });
    assert.equal(next.status, 200);
    assert.notEqual(next.json<Json>().pid, before);
    assert.ok(next.headers['x-lamina-init-duration-ms'], 'the next invoke paid for Init');
  });

  test('reports process.exit as Runtime.ExitError and recovers', async () => {
    const res = await agent.invoke({ action: 'exit', code: 3 }, { 'X-Amzn-RequestId': 'exit-3' });
    assert.equal(res.headers['x-amz-function-error'], 'Unhandled');
    assert.equal(res.headers['x-lamina-environment-reset'], 'true');
    assert.deepEqual(res.json(), {
      errorType: 'Runtime.ExitError',
      errorMessage: 'RequestId: exit-3 Error: Runtime exited with error: exit status 3',
    });
    const clean = await agent.invoke({ action: 'exit', code: 0 }, { 'X-Amzn-RequestId': 'exit-0' });
    assert.equal(
      clean.json().errorMessage,
      'RequestId: exit-0 Error: Runtime exited without providing a reason',
    );
    assert.equal((await agent.invoke({ action: 'echo' })).status, 200);
  });

  test('fails the invocation on an unhandled rejection, then restarts the runtime', async () => {
    const res = await agent.invoke({ action: 'unhandledRejection' });
    assert.equal(res.headers['x-amz-function-error'], 'Unhandled');
    const error = res.json();
    assert.equal(error.errorType, 'Runtime.UnhandledPromiseRejection');
    assert.match(String(error.errorMessage), /nobody caught me/);
    // The client exits 129 after a fatal error; the agent notices and re-inits on the next invoke.
    const next = await agent.invoke({ action: 'echo' });
    assert.equal(next.status, 200);
    assert.equal(next.headers['x-lamina-environment-reset'], 'true');
    assert.match(
      agent.stderr(),
      /"msg":"runtime exited while idle".*"reason":"Runtime exited with error: exit status 129"/,
    );
    assert.ok(next.headers['x-lamina-init-duration-ms']);
  });
});

describe('nodejs20.x handler loading', () => {
  const fixture = agentFixture();

  async function invokeWith(handler: string, files = fixtureFiles('node/basic'), payload: unknown = {}) {
    const code = fixture.store.put(zipOf(files));
    const agent = await fixture.start({ fn: functionConfig({ runtime: 'nodejs20.x', handler, code }) });
    return agent.invoke(payload);
  }

  test('loads a handler below the task root (src/app/index.handler)', async () => {
    assert.deepEqual((await invokeWith('src/app/index.handler')).json(), { from: 'src/app/index.js' });
  });

  test('loads an ES module (.mjs)', async () => {
    assert.deepEqual((await invokeWith('esm.handler', undefined, { a: 1 })).json(), {
      esm: true,
      event: { a: 1 },
    });
  });

  test('loads .js as an ES module when package.json says "type": "module"', async () => {
    assert.deepEqual((await invokeWith('index.handler', fixtureFiles('node/esm-pkg'))).json(), {
      typeModule: true,
    });
  });

  test('resolves bare imports of an ES-module handler from layers, as CommonJS does', async () => {
    const code = fixture.store.put(
      zipOf({
        'app.mjs': [
          "import greet from 'greeter';",
          "import { where } from 'esm-lib';",
          'export const handler = async () => ({ greeting: greet(), where });',
        ].join('\n'),
        'missing.mjs': "import 'in-no-layer';\nexport const handler = async () => 'unreachable';",
      }),
    );
    const commonjsLayer = fixture.store.put(
      zipOf({
        'nodejs/node_modules/greeter/package.json': '{"name":"greeter","main":"index.js"}',
        'nodejs/node_modules/greeter/index.js': "module.exports = () => 'hello from a layer';",
      }),
    );
    const esmLayer = fixture.store.put(
      zipOf({
        'nodejs/node20/node_modules/esm-lib/package.json':
          '{"name":"esm-lib","type":"module","exports":"./index.js"}',
        'nodejs/node20/node_modules/esm-lib/index.js': "export const where = 'nodejs/node20/node_modules';",
      }),
    );
    const start = (handler: string) =>
      fixture.start({
        fn: functionConfig({ runtime: 'nodejs20.x', handler, code, layers: [commonjsLayer, esmLayer] }),
      });
    const found = await (await start('app.handler')).invoke({});
    assert.deepEqual(found.json(), { greeting: 'hello from a layer', where: 'nodejs/node20/node_modules' });
    const missing = await (await start('missing.handler')).invoke({});
    assert.equal(missing.json().errorType, 'Runtime.ImportModuleError');
    assert.match(String(missing.json().errorMessage), /Cannot find package 'in-no-layer'/);
  });

  test('loads a .cjs module and a dotted export path', async () => {
    assert.deepEqual((await invokeWith('cjs.handler')).json(), { cjs: true });
    assert.equal((await invokeWith('index.nested.deep.handler')).json<string>(), 'nested export');
  });

  test('supports callback handlers', async () => {
    assert.deepEqual((await invokeWith('index.callback')).json(), { style: 'callback', waits: true });
    assert.deepEqual((await invokeWith('index.callbackNoWait')).json(), { waits: false });
    const failed = await invokeWith('index.callbackError');
    assert.equal(failed.headers['x-amz-function-error'], 'Unhandled');
    assert.equal(failed.json().errorMessage, 'callback failure');
  });

  const initErrors: [string, string, RegExp, Record<string, string>?][] = [
    ['index.missingExport', 'Runtime.HandlerNotFound', /^index\.missingExport is undefined or not exported$/],
    ['index.notAFunction', 'Runtime.HandlerNotFound', /^index\.notAFunction is not a function$/],
    ['missing.handler', 'Runtime.ImportModuleError', /^Error: Cannot find module 'definitely-not-installed'/],
    ['nowhere.handler', 'Runtime.ImportModuleError', /^Error: Cannot find module 'nowhere'/],
    ['nodot', 'Runtime.MalformedHandlerName', /^Bad handler$/],
    ['../escape.handler', 'Runtime.MalformedHandlerName', /is not a valid handler name/],
    ['initfail.handler', 'RangeError', /^init went wrong$/],
    [
      'syntax.handler',
      'Runtime.UserCodeSyntaxError',
      /^SyntaxError: /,
      { 'syntax.js': 'exports.handler = async () => { return { ; };' },
    ],
  ];
  for (const [handler, errorType, message, files] of initErrors) {
    test(`reports ${errorType} for handler '${handler}' on the first invoke`, async () => {
      const res = await invokeWith(handler, files ?? fixtureFiles('node/basic'));
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-amz-function-error'], 'Unhandled');
      const error = res.json();
      assert.equal(error.errorType, errorType);
      assert.match(String(error.errorMessage), message);
      assert.ok(Array.isArray(error.trace));
    });
  }
});
