// Specialisation of a generic (warm-pool) agent, refusal of bad input, and Init failures.
import AdmZip from 'adm-zip';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import {
  agentFixture,
  fixtureFiles,
  functionConfig,
  sha256,
  startAgent,
  startArtifactStore,
  waitUntilSettled,
  zipOf,
  type AgentProcess,
  type ArtifactStore,
} from './harness.js';

/** Renames the only entry of a one-entry zip, bypassing adm-zip's own name sanitising. */
function zipWithRawName(name: string, data = 'payload'): Buffer {
  const zip = new AdmZip();
  const entry = zip.addFile('placeholder.txt', Buffer.from(data));
  entry.entryName = name;
  return zip.toBuffer();
}

/** Overwrites the uncompressed size in every local and central header (a lying zip). */
function withDeclaredSize(zip: Buffer, size: number): Buffer {
  const out = Buffer.from(zip);
  for (let i = 0; i + 4 <= out.length; i++) {
    const signature = out.readUInt32LE(i);
    if (signature === 0x04034b50) out.writeUInt32LE(size, i + 22);
    if (signature === 0x02014b50) out.writeUInt32LE(size, i + 24);
  }
  return out;
}

describe('a generic agent', () => {
  let store: ArtifactStore;
  let agent: AgentProcess;
  const good = () => store.put(zipOf(fixtureFiles('node/basic')));
  const config = (code: { url: string; sha256: string }, extra: Record<string, unknown> = {}) =>
    functionConfig({ runtime: 'nodejs20.x', handler: 'index.handler', code, ...extra });

  before(async () => {
    store = await startArtifactStore();
    agent = await startAgent();
  });
  after(async () => {
    await agent?.stop();
    await store?.close();
  });

  async function assertStillGeneric() {
    const health = await agent.health();
    assert.equal(health.status, 200);
    assert.equal(health.json().state, 'generic');
    for (const dir of [agent.taskRoot, agent.optRoot]) {
      assert.deepEqual(existsSync(dir) ? readdirSync(dir) : [], [], `nothing was left in ${dir}`);
    }
  }

  test('reports itself generic and refuses invokes until specialised', async () => {
    const health = await agent.health();
    assert.equal(health.status, 200);
    assert.deepEqual(health.json(), { state: 'generic', busy: false });
    const res = await agent.invoke({});
    assert.equal(res.status, 409);
    assert.equal(res.json().errorType, 'Lamina.NotSpecialized');
  });

  test('rejects an invalid configuration with 400 naming the fields', async () => {
    const bad = await agent.specialize({
      ...config(good()),
      handler: '',
      runtime: 'cobol',
      memorySize: 64,
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.json().errorType, 'InvalidParameterValueException');
    const message = String(bad.json().errorMessage);
    assert.match(message, /handler: /);
    assert.match(message, /runtime: /);
    assert.match(message, /memorySize: /);

    const reserved = await agent.specialize(
      config(good(), { environment: { AWS_REGION: 'eu-west-1', OK: '1' } }),
    );
    assert.equal(reserved.status, 400);
    assert.match(String(reserved.json().errorMessage), /Reserved keys used in this request: AWS_REGION/);

    const notJson = await agent.specialize('{not json');
    assert.equal(notJson.status, 400);
    assert.match(String(notJson.json().errorMessage), /not JSON/);
    await assertStillGeneric();
  });

  test('rejects code whose sha256 does not match (400 CodeVerificationFailedException)', async () => {
    const { url } = good();
    const res = await agent.specialize(config({ url, sha256: 'f'.repeat(64) }));
    assert.equal(res.status, 400);
    assert.equal(res.json().errorType, 'CodeVerificationFailedException');
    assert.match(String(res.json().errorMessage), /function code/);
    await assertStillGeneric();
  });

  test('reports an artifact that cannot be fetched (502)', async () => {
    const { url } = good();
    const res = await agent.specialize(
      config({ url: url.replace(/[a-f0-9]{64}$/, '0'.repeat(64)), sha256: '0'.repeat(64) }),
    );
    assert.equal(res.status, 502);
    assert.equal(res.json().errorType, 'Lamina.ArtifactFetchFailed');
    await assertStillGeneric();
  });

  const hostile: [string, () => Buffer, RegExp, Record<string, unknown>?][] = [
    ['path traversal', () => zipWithRawName('../outside.txt'), /escapes the extraction directory/],
    ['an absolute path', () => zipWithRawName('/tmp/lamina-agent-absolute.txt'), /absolute path/],
    [
      'a symlink out of the tree',
      () => zipOf({ 'index.js': 'x', link: { symlink: '../../etc' } }),
      /points outside/,
    ],
    [
      'a file written through a symlink',
      () => zipOf({ dir: { symlink: '.' }, 'dir/x.js': 'x' }),
      /lies inside symlink/,
    ],
    [
      'duplicate names',
      () => {
        const zip = new AdmZip();
        zip.addFile('a.js', Buffer.from('1'));
        zip.addFile('b.js', Buffer.from('2')).entryName = 'a.js';
        return zip.toBuffer();
      },
      /Entry 'a.js' appears more than once/,
    ],
    [
      'names that are the same once normalised',
      () => {
        const zip = new AdmZip();
        zip.addFile('a.js', Buffer.from('1'));
        zip.addFile('b.js', Buffer.from('2')).entryName = './a.js';
        return zip.toBuffer();
      },
      /Entry 'a.js' appears more than once/,
    ],
    [
      'a corrupt archive',
      () => Buffer.from('PK\x03\x04 this is not really a zip'),
      /Could not unzip uploaded file/,
    ],
    [
      'a declared size over the limit',
      () => withDeclaredSize(zipOf({ 'big.bin': Buffer.alloc(4096, 1) }), 0x7fffffff),
      /Unzipped size must be smaller than 262144000 bytes/,
    ],
    [
      'a size under its own maxUnzippedBytes',
      () => zipOf({ 'big.bin': Buffer.alloc(5000, 1) }),
      /Unzipped size must be smaller than 1000 bytes/,
      { maxUnzippedBytes: 1000 },
    ],
    [
      'a header that lies about its size (bomb)',
      () => withDeclaredSize(zipOf({ 'bomb.bin': Buffer.alloc(1024 * 1024, 0) }), 100),
      /inflates past its declared 100 bytes/,
    ],
  ];
  for (const [what, build, message, extra] of hostile) {
    test(`refuses a zip with ${what} and writes nothing`, async () => {
      const res = await agent.specialize(config(store.put(build()), extra));
      assert.equal(res.status, 400, res.text);
      assert.equal(res.json().errorType, 'InvalidZipFileException');
      assert.match(String(res.json().errorMessage), message);
      assert.ok(!existsSync(join(agent.tmp, 'outside.txt')));
      assert.ok(!existsSync('/tmp/lamina-agent-absolute.txt'));
      await assertStillGeneric();
    });
  }

  test('refuses a hostile layer and removes the code it had already laid out', async () => {
    const layer = store.put(zipWithRawName('python/../../escape.txt'));
    const res = await agent.specialize(config(good(), { layers: [layer] }));
    assert.equal(res.status, 400);
    assert.match(String(res.json().errorMessage), /^layer 1: /);
    await assertStillGeneric();
  });

  test('specialises from a file:// URL, then refuses a second specialisation (409)', async () => {
    const zipPath = join(agent.tmp, 'code.zip');
    const bytes = zipOf(fixtureFiles('node/basic'));
    writeFileSync(zipPath, bytes);
    const res = await agent.specialize(config({ url: pathToFileURL(zipPath).href, sha256: sha256(bytes) }));
    assert.equal(res.status, 200, res.text);
    const body = res.json();
    assert.equal(body.state, 'ready');
    assert.equal(typeof body.initDurationMs, 'number');
    assert.deepEqual((await agent.health()).json(), {
      state: 'ready',
      busy: false,
      functionName: 'calc',
      version: '$LATEST',
      runtime: 'nodejs20.x',
    });
    const invoked = await agent.invoke({ action: 'echo' });
    assert.equal(invoked.status, 200);
    assert.ok(invoked.headers['x-lamina-init-duration-ms'], 'the first invoke carries the Init duration');

    const again = await agent.specialize(config(good()));
    assert.equal(again.status, 409);
    assert.equal(again.json().errorType, 'Lamina.AlreadySpecialized');
  });
});

describe('a stopping agent (its pod deleted or preempted)', () => {
  test('lets the invocation in flight finish and answer, then exits', async () => {
    const store = await startArtifactStore();
    const agent = await startAgent({
      fn: functionConfig({
        runtime: 'nodejs20.x',
        handler: 'index.handler',
        code: store.put(zipOf(fixtureFiles('node/basic'))),
      }),
    });
    try {
      await waitUntilSettled(agent);
      const inFlight = agent.invoke({ action: 'sleep', ms: 800 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const exited = new Promise<number | null>((resolve) => agent.child.once('exit', resolve));
      agent.child.kill('SIGTERM');
      const res = await inFlight;
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json().slept, 800);
      assert.equal(await exited, 0);
    } finally {
      await agent.stop();
      await store.close();
    }
  });
});

describe('Init failures', () => {
  const fixture = agentFixture();

  test('records an init error, returns it on the next invoke, and retries Init on the one after', async () => {
    const agent = await fixture.start();
    const code = fixture.store.put(zipOf(fixtureFiles('python/basic')));
    const res = await agent.specialize(
      functionConfig({
        runtime: 'python3.13',
        handler: 'flaky_import.handler',
        code,
        environment: { FLAKY_MARKER: join(agent.tmp, 'flaky-marker') },
      }),
    );
    assert.equal(res.status, 200);
    assert.equal(res.json().state, 'failed');
    assert.deepEqual(res.json().initError, {
      errorType: 'Runtime.ImportModuleError',
      errorMessage: "Unable to import module 'flaky_import': first import fails",
    });
    assert.equal((await agent.health()).json().state, 'failed');

    const first = await agent.invoke({});
    assert.equal(first.headers['x-amz-function-error'], 'Unhandled');
    assert.equal(first.json().errorType, 'Runtime.ImportModuleError');
    assert.ok(first.headers['x-lamina-init-duration-ms']);

    const second = await agent.invoke({});
    assert.equal(second.status, 200);
    assert.equal(second.headers['x-amz-function-error'], undefined);
    assert.equal(second.json<string>(), 'second init worked');
    assert.ok(second.headers['x-lamina-init-duration-ms'], 'this invoke ran Init again');
    assert.equal((await agent.health()).json().state, 'ready');
    await agent.waitForStdout(
      /INIT_REPORT Init Duration: [\d.]+ ms\tPhase: init\tStatus: error\tError Type: Runtime.ImportModuleError/,
    );
  });

  test('gives Init 10 s (here 1 s) and reports a timeout as Runtime.Unknown; healthz is 503 meanwhile', async () => {
    const agent = await fixture.start({ env: { LAMINA_INIT_TIMEOUT_MS: '1000' } });
    const code = fixture.store.put(zipOf(fixtureFiles('python/basic')));
    const specialised = agent.specialize(
      functionConfig({ runtime: 'python3.13', handler: 'slow_import.handler', code }),
    );
    let sawInitializing = false;
    for (let i = 0; i < 100 && !sawInitializing; i++) {
      const health = await agent.health();
      sawInitializing = health.status === 503 && health.json().state === 'initializing';
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(sawInitializing, 'healthz answered 503 initializing during Init');
    const res = await specialised;
    assert.equal(res.json().state, 'failed');
    const invoked = await agent.invoke({}, { 'X-Amzn-RequestId': 'slow-init' });
    assert.deepEqual(invoked.json(), {
      errorType: 'Runtime.Unknown',
      errorMessage: 'RequestId: slow-init Error: Init timed out after 1.00 seconds',
    });
  });

  test('specialises at start from LAMINA_FUNCTION and reports a Node.js init error', async () => {
    const code = fixture.store.put(zipOf(fixtureFiles('node/basic')));
    const agent = await fixture.start({
      fn: functionConfig({ runtime: 'nodejs20.x', handler: 'missing.handler', code }),
    });
    const health = await waitUntilSettled(agent);
    assert.equal(health.state, 'failed');
    const res = await agent.invoke({});
    assert.equal(res.json().errorType, 'Runtime.ImportModuleError');
  });

  test('exits with a message when LAMINA_FUNCTION is invalid', async () => {
    await assert.rejects(
      startAgent({ env: { LAMINA_FUNCTION: '{"functionName":"x"}' } }),
      /exited with 2[\s\S]*runtime/,
    );
  });
});
