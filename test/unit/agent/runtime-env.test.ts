import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseFunctionConfig } from '../../../runtime-image/agent/src/config.js';
import { readSettings, secretEnvironment } from '../../../runtime-image/agent/src/settings.js';
import {
  logStreamName,
  runtimeEnvironment,
  runtimeLaunch,
  standbyCanTake,
  standbyEnvironment,
} from '../../../runtime-image/agent/src/runtime-env.js';

const layout = {
  taskRoot: '/var/task',
  optRoot: '/opt',
  runtimeDir: '/var/runtime',
  nodeBin: '/usr/bin/node',
  pythonBin: 'python3',
};

const config = (extra: Record<string, unknown> = {}) =>
  parseFunctionConfig({
    functionName: 'calc',
    namespace: 'default',
    version: '3',
    runtime: 'nodejs20.x',
    handler: 'index.handler',
    memorySize: 512,
    timeout: 3,
    code: { url: 'http://s/b', sha256: 'a'.repeat(64) },
    functionArn: 'arn:aws:lambda:eu-west-1:default:function:calc',
    region: 'eu-west-1',
    ...extra,
  });

describe('runtime environment', () => {
  test('matches the values Lambda sets, for the image layout', () => {
    const env = runtimeEnvironment(config(), layout, '127.0.0.1:9001', '2026/01/02/[3]abc');
    assert.deepEqual(env, {
      PATH: '/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin',
      LD_LIBRARY_PATH:
        '/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib',
      NODE_PATH:
        '/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task',
      PYTHONPATH: '/var/runtime',
      LANG: 'en_US.UTF-8',
      _HANDLER: 'index.handler',
      AWS_LAMBDA_FUNCTION_NAME: 'calc',
      AWS_LAMBDA_FUNCTION_VERSION: '3',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/calc',
      AWS_LAMBDA_LOG_STREAM_NAME: '2026/01/02/[3]abc',
      AWS_LAMBDA_RUNTIME_API: '127.0.0.1:9001',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_REGION: 'eu-west-1',
      AWS_DEFAULT_REGION: 'eu-west-1',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs20.x',
      LAMBDA_TASK_ROOT: '/var/task',
      LAMBDA_RUNTIME_DIR: '/var/runtime',
      TZ: ':UTC',
    });
  });

  test('lets user variables replace the unreserved ones', () => {
    const env = runtimeEnvironment(
      config({ environment: { PATH: '/mine', LANG: 'C', EXTRA: '1' } }),
      layout,
      'a:1',
      's',
    );
    assert.equal(env.PATH, '/mine');
    assert.equal(env.LANG, 'C');
    assert.equal(env.EXTRA, '1');
  });

  test('moves every /opt path, and tells the Python client, when the opt root is overridden', () => {
    const moved = { ...layout, optRoot: '/tmp/x/opt' };
    const env = runtimeEnvironment(config({ runtime: 'python3.13' }), moved, 'a:1', 's');
    assert.ok(env.PATH?.endsWith(':/tmp/x/opt/bin'));
    assert.ok(env.LD_LIBRARY_PATH?.endsWith(':/tmp/x/opt/lib'));
    assert.ok(
      env.NODE_PATH?.startsWith('/tmp/x/opt/nodejs/node20/node_modules:/tmp/x/opt/nodejs/node_modules:'),
    );
    assert.equal(env.LAMINA_OPT_ROOT, '/tmp/x/opt');
    assert.equal(
      runtimeEnvironment(config({ runtime: 'python3.13' }), layout, 'a:1', 's').LAMINA_OPT_ROOT,
      undefined,
    );
  });

  test('builds log stream names like Lambda', () => {
    assert.equal(
      logStreamName('$LATEST', new Date('2026-03-04T05:06:07Z'), 'f'.repeat(32)),
      `2026/03/04/[$LATEST]${'f'.repeat(32)}`,
    );
  });
});

describe('runtime launch', () => {
  const always = () => true;

  test('starts Node.js with memory-aware V8 flags and the runtime client', () => {
    const launch = runtimeLaunch(config(), layout, {}, always);
    assert.ok('command' in launch);
    assert.equal(launch.command, '/usr/bin/node');
    assert.deepEqual(launch.args, [
      '--expose-gc',
      '--max-http-header-size=81920',
      '--max-semi-space-size=25',
      '--max-old-space-size=461',
      '/var/runtime/node/index.mjs',
    ]);
    assert.equal(launch.cwd, '/var/task');
  });

  test('starts Python with the runtime client', () => {
    const launch = runtimeLaunch(config({ runtime: 'python3.13' }), layout, {}, always);
    assert.ok('command' in launch);
    assert.deepEqual([launch.command, ...launch.args], ['python3', '/var/runtime/python/bootstrap.py']);
  });

  test("starts each Node.js and Python line with its image's interpreter; layers under /opt/nodejs/node<major>", () => {
    for (const runtime of ['nodejs18.x', 'nodejs24.x']) {
      const launch = runtimeLaunch(config({ runtime }), layout, {}, always);
      assert.ok('command' in launch && launch.command === '/usr/bin/node', runtime);
    }
    for (const runtime of ['python3.11', 'python3.14']) {
      const launch = runtimeLaunch(config({ runtime }), layout, {}, always);
      assert.ok('command' in launch && launch.command === 'python3', runtime);
    }
    const env = runtimeEnvironment(config({ runtime: 'nodejs24.x' }), layout, '127.0.0.1:9001', 's');
    assert.match(env.NODE_PATH ?? '', /^\/opt\/nodejs\/node24\/node_modules:/);
  });

  test("starts Java with Lambda's JVM flags, the heap from the memory size and the handler", () => {
    const launch = runtimeLaunch(
      config({ runtime: 'java21', handler: 'example.Hello::handleRequest' }),
      layout,
      {},
      always,
    );
    assert.ok('command' in launch);
    assert.equal(launch.command, 'java');
    assert.deepEqual(launch.args, [
      '-XX:MaxHeapSize=445644k',
      '-XX:+UseSerialGC',
      '-Xshare:auto',
      '-XX:+TieredCompilation',
      '-XX:TieredStopAtLevel=1',
      '--add-opens=java.base/java.io=ALL-UNNAMED',
      '-Djava.net.preferIPv4Stack=true',
      '-XX:+ErrorFileToStderr',
      '-classpath',
      '/var/runtime/lib/*',
      'com.amazonaws.services.lambda.runtime.api.client.AWSLambda',
      'example.Hello::handleRequest',
    ]);
    assert.equal(launch.cwd, '/var/task');
  });

  test('looks for the bootstrap in the task root, then in /opt', () => {
    const onlyOpt = (path: string) => path === '/opt/bootstrap';
    const fromOpt = runtimeLaunch(config({ runtime: 'provided' }), layout, {}, onlyOpt);
    assert.ok('command' in fromOpt && fromOpt.command === '/opt/bootstrap');
    const fromTask = runtimeLaunch(config({ runtime: 'provided.al2023' }), layout, {}, always);
    assert.ok('command' in fromTask && fromTask.command === '/var/task/bootstrap');
    assert.deepEqual(
      runtimeLaunch(config({ runtime: 'provided' }), layout, {}, () => false),
      {
        errorType: 'Runtime.InvalidEntrypoint',
        errorMessage: "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]",
      },
    );
  });
});

describe('function secrets', () => {
  test('reach the function without the LAMINA_SECRET_ prefix the pod spec gave them', () => {
    const secrets = secretEnvironment({
      LAMINA_SECRET_DB_PASSWORD: 's3cret',
      LAMINA_AGENT_PORT: '8080',
      HOME: '/tmp',
    });
    assert.deepEqual(secrets, { DB_PASSWORD: 's3cret' });
    assert.equal(runtimeEnvironment(config(), layout, 'a:1', 's', secrets).DB_PASSWORD, 's3cret');
  });

  test('lose to a plain variable of the same name and never replace a reserved one', () => {
    const env = runtimeEnvironment(config({ environment: { TOKEN: 'plain' } }), layout, 'a:1', 's', {
      TOKEN: 'secret',
      AWS_REGION: 'mars-1',
    });
    assert.equal(env.TOKEN, 'plain');
    assert.equal(env.AWS_REGION, 'eu-west-1');
  });
});

describe('custom runtimes', () => {
  test('need no handler; managed runtimes do', () => {
    assert.equal(config({ runtime: 'provided.al2023', handler: undefined }).handler, undefined);
    assert.throws(() => config({ handler: undefined }), /handler: is required/);
  });
});

describe('standby runtimes', () => {
  const standby = standbyEnvironment(layout, '127.0.0.1:9001');
  const functionEnv = (variables: Record<string, string> = {}) =>
    runtimeEnvironment(config({ environment: variables }), layout, '127.0.0.1:9001', 'stream');

  test('start with the platform variables only, none of a function', () => {
    assert.equal(standby.LAMINA_STANDBY, '1');
    assert.equal(standby.AWS_LAMBDA_RUNTIME_API, '127.0.0.1:9001');
    for (const name of ['_HANDLER', 'AWS_LAMBDA_FUNCTION_NAME', 'AWS_REGION'])
      assert.equal(standby[name], undefined);
    for (const name of ['PATH', 'LD_LIBRARY_PATH', 'NODE_PATH', 'PYTHONPATH', 'LANG', 'TZ']) {
      assert.equal(standby[name], functionEnv()[name], name);
    }
  });

  test('take any function whose start-up variables are the platform defaults', () => {
    assert.equal(standbyCanTake(standby, functionEnv()), true);
    assert.equal(standbyCanTake(standby, functionEnv({ DB_HOST: 'db', PATH: '/custom/bin' })), true);
    assert.equal(
      standbyCanTake(standby, functionEnv({ NODE_PATH: '/elsewhere' })),
      true,
      're-read on hand-over',
    );
  });

  for (const [name, value] of [
    ['NODE_OPTIONS', '--enable-source-maps'],
    ['LD_LIBRARY_PATH', '/custom/lib'],
    ['LD_PRELOAD', '/opt/lib/hook.so'],
    ['PYTHONPATH', '/custom'],
    ['PYTHONDONTWRITEBYTECODE', '1'],
    ['LANG', 'C.UTF-8'],
    ['LC_ALL', 'C'],
    ['MALLOC_ARENA_MAX', '2'],
    ['AWS_LAMBDA_EXEC_WRAPPER', '/opt/wrapper'],
  ] as const) {
    test(`refuse a function that sets ${name} (read at start-up)`, () => {
      assert.equal(standbyCanTake(standby, functionEnv({ [name]: value })), false);
    });
  }

  test('are configured on pool pods only, for both managed runtimes by default', () => {
    assert.equal(readSettings({}).standby, undefined);
    assert.deepEqual(readSettings({ LAMINA_STANDBY_MEMORY_SIZE: '256' }).standby, {
      runtimes: ['nodejs20.x', 'python3.13'],
      memorySize: 256,
    });
    assert.equal(
      readSettings({ LAMINA_STANDBY_MEMORY_SIZE: '256', LAMINA_STANDBY_RUNTIMES: '' }).standby,
      undefined,
    );
    assert.throws(
      () => readSettings({ LAMINA_STANDBY_MEMORY_SIZE: '256', LAMINA_STANDBY_RUNTIMES: 'provided' }),
      /LAMINA_STANDBY_RUNTIMES/,
    );
  });
});
