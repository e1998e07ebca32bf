// The agent with an image function's launcher (runtime-image/agent/launcher/lamina-launch.c,
// compiled here as the image build does): the launcher plays the function's container, its
// entry point a Runtime API client. An Init that fails is answered 200 Unhandled with the exit
// status, the entry point's output is in LogType Tail and in the agent's log, and a runtime
// that exits is started again in place.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixturesDir, functionConfig, repoRoot, waitUntilSettled, WAIT_MS, agentFixture } from './harness.js';

const RUNTIME = join(fixturesDir, 'image/runtime.mjs');

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("an image function's runtime behind lamina-launch", () => {
  const fixture = agentFixture();
  let build = '';
  let launcherBinary = '';
  const launchers: ChildProcess[] = [];

  before(() => {
    build = mkdtempSync(join(tmpdir(), 'lamina-launch-'));
    launcherBinary = join(build, 'lamina-launch');
    const cc = spawnSync(
      'gcc',
      [
        '-Os',
        '-static',
        '-Wall',
        '-Wextra',
        '-Werror',
        '-o',
        launcherBinary,
        join(repoRoot, 'runtime-image/agent/launcher/lamina-launch.c'),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(cc.status, 0, `gcc failed: ${cc.stderr}`);
  });
  after(() => {
    for (const l of launchers) l.kill('SIGKILL');
    rmSync(build, { recursive: true, force: true });
  });

  /** An agent specialised for an image function, and the launcher of its "container". */
  async function imageEnvironment(args: string[]) {
    const dir = mkdtempSync(join(build, 'pod-'));
    const agent = await fixture.start({
      fn: functionConfig({
        runtime: 'provided.al2023',
        handler: 'image',
        code: undefined as never,
        packageType: 'Image',
      } as never),
      env: {
        LAMINA_LAUNCH_DIR: dir,
        LAMINA_LAUNCHER: launcherBinary,
        LAMINA_RUNTIME_EXPECTED_FILE: join(dir, 'expected'),
      },
    });
    await until('the agent waiting for its launcher', () => existsSync(join(dir, 'expected')));
    const runtimeApiPort = /"runtimeApiPort":(\d+)/.exec(agent.stderr())?.[1];
    // As the pod spec runs it: the copy in the shared directory, the entry point as arguments.
    const launcher = spawn(join(dir, 'lamina-launch'), [process.execPath, RUNTIME, ...args], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        LAMINA_LAUNCH_DIR: dir,
        AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${runtimeApiPort}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    launchers.push(launcher);
    let launcherOutput = '';
    launcher.stdout?.on('data', (c: Buffer) => (launcherOutput += c.toString()));
    launcher.stderr?.on('data', (c: Buffer) => (launcherOutput += c.toString()));
    return { agent, launcher, launcherOutput: () => launcherOutput };
  }

  it('answers an Init whose entry point exited with 200 Unhandled, the exit status and the Init log in the tail', async () => {
    const { agent, launcher } = await imageEnvironment(['exit-at-start']);
    const health = await waitUntilSettled(agent);
    assert.equal(health.state, 'failed');
    const res = await agent.invoke({}, { 'x-amzn-requestid': 'req-init-1', 'x-amz-log-type': 'Tail' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers['x-amz-function-error'], 'Unhandled');
    assert.deepEqual(res.json(), {
      errorType: 'Runtime.ExitError',
      errorMessage: 'RequestId: req-init-1 Error: Runtime exited with error: exit status 3',
    });
    const tail = Buffer.from(String(res.headers['x-amz-log-result']), 'base64').toString('utf8');
    assert.match(tail, /loading configuration/);
    assert.match(tail, /fatal: no configuration found/);
    assert.match(tail, /INIT_REPORT .*Error Type: Runtime\.ExitError/);
    assert.match(tail, /REPORT RequestId: req-init-1/);
    // Lambda retries Init in the next invoke: the launcher runs the entry point again.
    const again = await agent.invoke({}, { 'x-amzn-requestid': 'req-init-2' });
    assert.equal(again.status, 200);
    assert.match(again.text, /RequestId: req-init-2 Error: Runtime exited with error: exit status 3/);
    assert.equal(launcher.exitCode, null, 'the launcher (the container) is still running');
    assert.equal((await agent.health()).status, 200);
  });

  it("returns the entry point's own output in LogType Tail, writes it to the agent's log, and restarts a runtime that exited in place", async () => {
    const { agent, launcher } = await imageEnvironment([]);
    await waitUntilSettled(agent);
    const first = await agent.invoke({ n: 1 }, { 'x-amzn-requestid': 'req-a', 'x-amz-log-type': 'Tail' });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.headers['x-amz-function-error'], undefined);
    const pid = first.json<{ pid: number }>().pid;
    const tail = Buffer.from(String(first.headers['x-amz-log-result']), 'base64').toString('utf8');
    assert.match(tail, /START RequestId: req-a/);
    assert.match(tail, /handling req-a: \{"n":1\}/);
    assert.match(tail, /END RequestId: req-a/);
    await agent.waitForStdout(/runtime started[\s\S]*handling req-a/);

    const died = await agent.invoke({ action: 'exit' }, { 'x-amzn-requestid': 'req-b' });
    assert.equal(died.status, 200);
    assert.equal(died.headers['x-amz-function-error'], 'Unhandled');
    assert.deepEqual(died.json(), {
      errorType: 'Runtime.ExitError',
      errorMessage: 'RequestId: req-b Error: Runtime exited with error: exit status 7',
    });

    const after = await agent.invoke({ n: 3 }, { 'x-amzn-requestid': 'req-c' });
    assert.equal(after.status, 200, after.text);
    assert.notEqual(after.json<{ pid: number }>().pid, pid, 'a new runtime process');
    assert.ok(after.headers['x-lamina-init-duration-ms'], 'the invoke after the exit ran Init');
    assert.equal(launcher.exitCode, null);
  });

  it('ends the runtime and the launcher (the container) when the agent goes', async () => {
    const { agent, launcher } = await imageEnvironment([]);
    await waitUntilSettled(agent);
    const res = await agent.invoke({ n: 5 }, { 'x-amzn-requestid': 'req-v' });
    const { pid } = res.json<{ pid: number }>();
    const launcherExit = new Promise<number | null>((resolve) =>
      launcher.once('exit', (code) => resolve(code)),
    );
    agent.child.kill('SIGKILL');
    assert.equal(await launcherExit, 0);
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'the runtime is gone too');
  });

  it('kills the runtime on a timeout and starts it again for the next invoke', async () => {
    const { agent } = await imageEnvironment([]);
    await waitUntilSettled(agent);
    const hung = await agent.invoke({ action: 'hang' }, { 'x-amzn-requestid': 'req-t' });
    assert.equal(hung.status, 200);
    assert.match(hung.text, /Task timed out after 3\.00 seconds/);
    const next = await agent.invoke({ n: 4 }, { 'x-amzn-requestid': 'req-u' });
    assert.equal(next.status, 200, next.text);
    assert.deepEqual(next.json<{ echo: unknown }>().echo, { n: 4 });
  });
});
