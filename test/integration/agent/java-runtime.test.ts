// java17 / java21: the agent starts AWS's Java runtime interface client (from Maven Central,
// runtime-image/runtimes/java/pom.xml) with Lambda's JVM flags, on the host's JRE; the
// function is examples/java-hello packaged as Lambda loads a Java zip (classes at the root,
// lib/*.jar). The Java images run the same command line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { ensureDebianPackages, thirdPartyCache } from '../../harness/third-party.js';
import { agentFixture, functionConfig, type AgentProcess } from './harness.js';

const repoRoot = join(import.meta.dirname, '../../..');
type Json = Record<string, unknown>;

function run(cmd: string, args: string[], cwd = repoRoot): void {
  const result = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 10 * 60_000 });
  if (result.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${`${result.stdout}${result.stderr}`.slice(-3000)}`);
}

/** A runtime directory as the Java images have it: lib/ with the client's jars, and the other clients. */
function javaRuntimeDir(): string {
  const pom = join(repoRoot, 'runtime-image/runtimes/java/pom.xml');
  const key = createHash('sha256').update(readFileSync(pom)).digest('hex').slice(0, 12);
  const dir = join(thirdPartyCache(), `java-runtime-${key}`);
  if (!existsSync(dir)) {
    const staging = `${dir}.partial-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    run('mvn', [
      '-B',
      '-q',
      '-f',
      pom,
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${staging}/lib`,
    ]);
    for (const client of ['node', 'python'])
      symlinkSync(join(repoRoot, 'runtime-image/runtimes', client), join(staging, client));
    renameSync(staging, dir);
  }
  return dir;
}

describe('Java runtime (host JRE)', () => {
  const fixture = agentFixture();
  let runtimeDir = '';
  let zip: Buffer;

  before(() => {
    ensureDebianPackages(['openjdk-17-jdk-headless', 'maven']);
    runtimeDir = javaRuntimeDir();
    const out = join(thirdPartyCache(), `java-hello-${process.pid}.zip`);
    run('bash', ['examples/java-hello/build.sh', '--zip-only', out]);
    zip = readFileSync(out);
    rmSync(out);
  });

  const agentFor = (handler: string): Promise<AgentProcess> =>
    fixture.start({
      fn: functionConfig({
        runtime: 'java17',
        handler,
        code: fixture.store.put(zip),
        memorySize: 256,
        timeout: 15,
      }),
      env: { LAMINA_RUNTIME_DIR: runtimeDir, LAMINA_INIT_TIMEOUT_MS: '30000' },
    });

  test('a RequestHandler of APIGatewayV2HTTPEvent, with lib/*.jar on its class path, warm on the second call', async () => {
    const agent = await agentFor('example.Hello::handleRequest');
    const event = {
      version: '2.0',
      rawPath: '/',
      queryStringParameters: { name: 'Ada' },
      requestContext: { http: { method: 'GET', path: '/' } },
    };
    const first = (await agent.invoke(event)).json<Json>();
    assert.equal(first.statusCode, 200);
    const body = JSON.parse(String(first.body)) as Json;
    assert.equal(body.message, 'Hello, Ada!');
    assert.equal(body.method, 'GET');
    assert.equal(body.function, 'calc');
    const second = JSON.parse(String((await agent.invoke(event)).json<Json>().body)) as Json;
    assert.equal(second.invocations, 2);
    assert.match(agent.stdout() + agent.stderr(), /greeting Ada/);
  });

  test('a RequestStreamHandler named by its class alone', async () => {
    const agent = await agentFor('example.Upper');
    const result = await agent.invoke('shout');
    assert.equal(result.text, '"SHOUT"');
  });

  test("an exception is Lambda's Java error: errorType, errorMessage, stackTrace", async () => {
    const agent = await agentFor('example.Fail::handle');
    const result = await agent.invoke({ what: 'coffee' });
    assert.equal(result.headers['x-amz-function-error'], 'Unhandled');
    const error = result.json<Json>();
    assert.equal(error.errorType, 'java.lang.IllegalStateException');
    assert.equal(error.errorMessage, 'no coffee');
    assert.ok(Array.isArray(error.stackTrace) && error.stackTrace.length > 0, JSON.stringify(error));
    assert.match(String((error.stackTrace as string[])[0]), /example\.Fail\.handle/);
  });
});
