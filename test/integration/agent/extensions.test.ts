// External extensions from a layer's extensions/ folder, run by a real agent: a bash
// extension written as AWS's sample receives INVOKE and SHUTDOWN, a Telemetry API subscriber
// receives the platform events and the function's log lines, and a failing extension fails
// Init with Lambda's error type.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { agentFixture, functionConfig, repoRoot, zipOf, type AgentProcess, type ZipSpec } from './harness.js';

const extensionsDir = join(repoRoot, 'test/fixtures/extensions');
const extension = (file: string, as: string): ZipSpec => ({
  [`extensions/${as}`]: { data: readFileSync(join(extensionsDir, file)), mode: 0o755 },
});

const HANDLER = {
  'index.mjs': `export const handler = async (event) => {
  console.log('handling', JSON.stringify(event));
  return { ok: true };
};`,
};

interface TelemetryEvent {
  time: string;
  type: string;
  // Each type has its own record shape; the assertions below read the fields they check.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  record: any;
}

const lines = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n') : []);

async function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('extensions', () => {
  const fixture = agentFixture();
  // Where the extensions write what they received (they run outside the agent's temp dir's lifetime).
  const records = mkdtempSync(join(tmpdir(), 'lamina-extensions-'));
  after(() => rmSync(records, { recursive: true, force: true }));

  const start = async (layer: ZipSpec, environment: Record<string, string>): Promise<AgentProcess> =>
    fixture.start({
      fn: functionConfig({
        runtime: 'nodejs20.x',
        handler: 'index.handler',
        code: fixture.store.put(zipOf(HANDLER)),
        layers: [fixture.store.put(zipOf(layer))],
        environment,
        timeout: 5,
      }),
    });

  test('a bash extension registers before the runtime starts, gets INVOKE with the request id, then SHUTDOWN when the agent stops', async () => {
    const recordFile = join(records, 'recorder.log');
    const agent = await start(extension('recorder.sh', 'recorder'), {
      RECORD_FILE: recordFile,
      EXTENSION_WORK_SECONDS: '0.4',
    });
    const res = await agent.invoke({ n: 1 }, { 'X-Amzn-RequestId': 'req-ext-1' });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json(), { ok: true });

    const registered = lines(recordFile)[0] ?? '';
    assert.match(registered, /^register /);
    assert.deepEqual(JSON.parse(registered.slice('register '.length)), {
      functionName: 'calc',
      functionVersion: '$LATEST',
      handler: 'index.handler',
    });
    const invoke = await until('the INVOKE event', () =>
      lines(recordFile).find((l) => l.includes('"INVOKE"')),
    );
    const event = JSON.parse(invoke.slice('event '.length));
    assert.equal(event.eventType, 'INVOKE');
    assert.equal(event.requestId, 'req-ext-1');
    assert.equal(event.invokedFunctionArn, 'arn:aws:lambda:us-east-1:default:function:calc');
    assert.equal(typeof event.deadlineMs, 'number');
    assert.equal(event.tracing.type, 'X-Amzn-Trace-Id');

    // The REPORT comes once the extension is done, and counts its 0.4 s.
    await agent.waitForStdout(/REPORT RequestId: req-ext-1\tDuration: ([\d.]+) ms/);
    const duration = Number(/REPORT RequestId: req-ext-1\tDuration: ([\d.]+) ms/.exec(agent.stdout())?.[1]);
    assert.ok(duration >= 400, `REPORT Duration ${duration} ms includes the extension's work`);
    assert.match(agent.stdout(), /\[recorder\] launching extension/);

    // The next invoke waits for the extension, then runs as usual.
    const second = await agent.invoke({ n: 2 }, { 'X-Amzn-RequestId': 'req-ext-2' });
    assert.equal(second.status, 200, second.text);

    await agent.stop();
    const shutdown = lines(recordFile).find((l) => l.includes('"SHUTDOWN"'));
    assert.ok(shutdown, lines(recordFile).join('\n'));
    const shutdownEvent = JSON.parse(shutdown.slice('event '.length));
    assert.equal(shutdownEvent.shutdownReason, 'spindown');
    assert.equal(typeof shutdownEvent.deadlineMs, 'number');
  });

  test('a Telemetry API subscriber receives the platform events, the function log lines and the extension lines', async () => {
    const telemetryFile = join(records, 'telemetry.log');
    const agent = await start(
      { ...extension('telemetry-subscriber.mjs', 'telemetry-subscriber') },
      { TELEMETRY_FILE: telemetryFile },
    );
    const res = await agent.invoke({ hello: 'telemetry' }, { 'X-Amzn-RequestId': 'req-tel-1' });
    assert.equal(res.status, 200, res.text);
    assert.equal(lines(telemetryFile)[0], 'subscribe 200 "OK"');

    const events = () =>
      lines(telemetryFile)
        .slice(1)
        .flatMap((line) => JSON.parse(line) as TelemetryEvent[]);
    const report = await until('platform.report', () =>
      events().find((e) => e.type === 'platform.report' && e.record.requestId === 'req-tel-1'),
    );
    const all = events();
    const types = all.map((e) => e.type);
    for (const type of [
      'platform.initStart',
      'platform.initRuntimeDone',
      'platform.initReport',
      'platform.start',
      'platform.runtimeDone',
    ])
      assert.ok(types.includes(type), `${type} in ${types.join(', ')}`);
    assert.ok(types.indexOf('platform.start') < types.indexOf('platform.runtimeDone'));
    const runtimeDone = all.find((e) => e.type === 'platform.runtimeDone');
    assert.equal(runtimeDone?.record.requestId, 'req-tel-1');
    assert.equal(runtimeDone?.record.status, 'success');
    assert.equal(report.record.status, 'success');
    assert.equal(report.record.metrics.memorySizeMB, 128);
    assert.ok(report.record.metrics.billedDurationMs >= 1);
    assert.ok(
      all.some((e) => e.type === 'function' && /\tINFO\thandling \{"hello":"telemetry"\}/.test(e.record)),
      JSON.stringify(all.filter((e) => e.type === 'function')),
    );
    assert.ok(all.some((e) => e.type === 'extension' && /subscribed on port/.test(e.record)));
    for (const e of all) assert.match(e.time, /^\d{4}-\d\d-\d\dT/);
  });

  test('a Logs API subscriber receives platform.start, platform.end and platform.report, and the function lines', async () => {
    const logsFile = join(records, 'logs-api.log');
    const agent = await start(extension('telemetry-subscriber.mjs', 'logs-subscriber'), {
      TELEMETRY_FILE: logsFile,
      SUBSCRIBE_API: 'logs',
    });
    const res = await agent.invoke({ hello: 'logs' }, { 'X-Amzn-RequestId': 'req-logs-1' });
    assert.equal(res.status, 200, res.text);
    assert.equal(lines(logsFile)[0], 'subscribe 200 "OK"');
    const events = () =>
      lines(logsFile)
        .slice(1)
        .flatMap((line) => JSON.parse(line) as TelemetryEvent[]);
    await until('platform.report', () => events().find((e) => e.type === 'platform.report'));
    const all = events();
    assert.deepEqual(all.find((e) => e.type === 'platform.start')?.record, {
      requestId: 'req-logs-1',
      version: '$LATEST',
    });
    assert.deepEqual(all.find((e) => e.type === 'platform.end')?.record, { requestId: 'req-logs-1' });
    assert.equal(all.find((e) => e.type === 'platform.report')?.record.metrics.memorySizeMB, 128);
    assert.ok(!all.some((e) => e.type.startsWith('platform.init')), 'no init events on the Logs API');
    assert.ok(all.some((e) => e.type === 'function' && /handling \{"hello":"logs"\}/.test(e.record)));
  });

  test('an extension still busy at the function timeout ends the invoke as timed out and resets the environment', async () => {
    const agent = await fixture.start({
      fn: functionConfig({
        runtime: 'nodejs20.x',
        handler: 'index.handler',
        code: fixture.store.put(zipOf(HANDLER)),
        layers: [fixture.store.put(zipOf(extension('recorder.sh', 'recorder')))],
        environment: { RECORD_FILE: join(records, 'slow.log'), EXTENSION_WORK_SECONDS: '3' },
        timeout: 1,
      }),
    });
    const first = await agent.invoke({}, { 'X-Amzn-RequestId': 'req-slow-1' });
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(first.json(), { ok: true }); // the runtime's answer is not held back
    await agent.waitForStdout(
      /REPORT RequestId: req-slow-1\t.*\tStatus: timeout\tError Type: Sandbox.Timedout\t/,
    );
    // The reset environment runs Init again (extension included) on the next invoke.
    const second = await agent.invoke({}, { 'X-Amzn-RequestId': 'req-slow-2' });
    assert.equal(second.status, 200, second.text);
    assert.equal(second.headers['x-lamina-environment-reset'], 'true');
    assert.ok(second.headers['x-lamina-init-duration-ms'], 'the second invoke ran Init');
    assert.equal(lines(join(records, 'slow.log')).filter((l) => l.startsWith('register ')).length, 2);
  });

  test('an extension that dies between invokes resets the environment before the next one', async () => {
    const script = `#!/bin/bash
H=$(mktemp)
curl -sS -D "$H" -XPOST "http://$AWS_LAMBDA_RUNTIME_API/2020-01-01/extension/register" -H "Lambda-Extension-Name: $(basename "$0")" -d '{"events":["INVOKE"]}' >/dev/null
ID=$(grep -Fi Lambda-Extension-Identifier "$H" | tr -d '[:space:]' | cut -d: -f2)
curl -sS "http://$AWS_LAMBDA_RUNTIME_API/2020-01-01/extension/event/next" -H "Lambda-Extension-Identifier: $ID" >/dev/null
curl -sS "http://$AWS_LAMBDA_RUNTIME_API/2020-01-01/extension/event/next" -H "Lambda-Extension-Identifier: $ID" >/dev/null &
sleep 0.2
exit 1
`;
    const agent = await start({ 'extensions/fragile': { data: script, mode: 0o755 } }, {});
    const first = await agent.invoke({}, { 'X-Amzn-RequestId': 'req-fragile-1' });
    assert.equal(first.status, 200, first.text);
    await until('the extension to exit', () =>
      /"msg":"extension exited"/.test(agent.stderr()) ? true : undefined,
    );
    const second = await agent.invoke({}, { 'X-Amzn-RequestId': 'req-fragile-2' });
    assert.equal(second.status, 200, second.text);
    assert.equal(second.headers['x-lamina-environment-reset'], 'true');
    assert.ok(second.headers['x-lamina-init-duration-ms'], 'the second invoke ran Init');
  });

  test('Init fails with Extension.Crash when an extension exits before it registers', async () => {
    const agent = await start(
      { 'extensions/broken': { data: '#!/bin/sh\necho broken >&2\nexit 3\n', mode: 0o755 } },
      {},
    );
    const res = await agent.invoke({});
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-amz-function-error'], 'Unhandled');
    assert.equal(res.json().errorType, 'Extension.Crash');
    assert.match(
      agent.stdout(),
      /INIT_REPORT Init Duration: [\d.]+ ms\tPhase: init\tStatus: error\tError Type: Extension.Crash/,
    );
  });

  test("Init fails with the extension's error type when it calls /init/error", async () => {
    const script = `#!/bin/bash
H=$(mktemp)
curl -sS -D "$H" -XPOST "http://$AWS_LAMBDA_RUNTIME_API/2020-01-01/extension/register" -H 'Lambda-Extension-Name: picky' -d '{"events":["INVOKE"]}' >/dev/null
ID=$(grep -Fi Lambda-Extension-Identifier "$H" | tr -d '[:space:]' | cut -d: -f2)
curl -sS -XPOST "http://$AWS_LAMBDA_RUNTIME_API/2020-01-01/extension/init/error" -H "Lambda-Extension-Identifier: $ID" -H 'Lambda-Extension-Function-Error-Type: Extension.ConfigInvalid' -d '{"errorMessage":"no config","errorType":"Extension.ConfigInvalid"}'
sleep 30
`;
    const agent = await start({ 'extensions/picky': { data: script, mode: 0o755 } }, {});
    const res = await agent.invoke({});
    assert.equal(res.headers['x-amz-function-error'], 'Unhandled');
    assert.equal(res.json().errorType, 'Extension.ConfigInvalid');
  });

  test('the runtime registers an internal extension during Init; refusals carry the Extensions API error types', async () => {
    const code = `const api = 'http://' + process.env.AWS_LAMBDA_RUNTIME_API + '/2020-01-01/extension';
const call = async (path, init) => {
  const res = await fetch(api + path, init);
  return { status: res.status, body: await res.json(), id: res.headers.get('lambda-extension-identifier') };
};
const register = (name, events) =>
  call('/register', { method: 'POST', headers: name ? { 'Lambda-Extension-Name': name } : {}, body: JSON.stringify({ events }) });
const seen = {
  internal: await register('in-process', ['INVOKE']),
  shutdown: await register('wants-shutdown', ['SHUTDOWN']),
  unnamed: await register('', []),
  unknownEvent: await register('odd', ['RESTORE']),
  unknownId: await call('/event/next', { headers: { 'Lambda-Extension-Identifier': '00000000-0000-4000-8000-000000000000' } }),
  noId: await call('/event/next', {}),
};
const invokes = [];
(async () => {
  for (;;) {
    const next = await fetch(api + '/event/next', { headers: { 'Lambda-Extension-Identifier': seen.internal.id } });
    invokes.push((await next.json()).requestId);
  }
})();
export const handler = async () => ({ seen, invokes, late: await register('late', []) });`;
    const agent = await fixture.start({
      fn: functionConfig({
        runtime: 'nodejs20.x',
        handler: 'index.handler',
        code: fixture.store.put(zipOf({ 'index.mjs': code })),
      }),
    });
    const first = await agent.invoke({}, { 'X-Amzn-RequestId': 'req-int-1' });
    assert.equal(first.status, 200, first.text);
    const { seen, late } = first.json<{
      seen: Record<string, { status: number; body: Record<string, string> }>;
      late: { status: number; body: Record<string, string> };
    }>();
    assert.equal(seen.internal?.status, 200);
    assert.equal(seen.internal?.body.functionName, 'calc');
    assert.deepEqual(
      Object.fromEntries(
        Object.entries(seen)
          .filter(([k]) => k !== 'internal')
          .map(([k, v]) => [k, [v.status, v.body.errorType]]),
      ),
      {
        shutdown: [403, 'Extension.InvalidEventType'],
        unnamed: [403, 'Extension.InvalidExtensionName'],
        unknownEvent: [403, 'Extension.InvalidEventType'],
        unknownId: [403, 'Extension.UnknownExtensionIdentifier'],
        noId: [403, 'Extension.MissingExtensionIdentifier'],
      },
    );
    assert.equal(seen.shutdown?.body.errorMessage, 'SHUTDOWN: ShutdownEventNotSupportedForInternalExtension');
    assert.deepEqual([late.status, late.body.errorType], [403, 'Extension.RegistrationClosed']);
    // The internal extension that registered for INVOKE got this invoke's event.
    const second = await agent.invoke({}, { 'X-Amzn-RequestId': 'req-int-2' });
    assert.ok(second.json<{ invokes: string[] }>().invokes.includes('req-int-1'), second.text);
  });
});
