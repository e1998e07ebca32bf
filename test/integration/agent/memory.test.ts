// Out-of-memory: the agent places each runtime in a memory cgroup (LAMINA_MEMORY_CGROUP) capped
// at the function's memory size, so an allocation past it is killed by the kernel, reported
// as Runtime.OutOfMemory, and the environment is reset. Needs a writable memory cgroup.
// Without one (a pod's cgroup is read-only) the agent samples the runtime's resident memory
// and kills it above the function's memory size: the same error, the same reset.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { agentFixture, fixtureFiles, functionConfig, zipOf } from './harness.js';

type Json = Record<string, unknown>;

/**
 * A fresh cgroup below this process's own memory cgroup, or why there cannot be one. Every
 * reason starts with NO_CGROUP, the entry test/ALLOWED_SKIPS.md lists for this suite.
 */
const NO_CGROUP = 'no writable memory cgroup';
function makeTestCgroup(): { dir: string } | { skip: string } {
  let lines: string[];
  try {
    lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  } catch {
    return { skip: `${NO_CGROUP}: no /proc/self/cgroup` };
  }
  const v1 = lines.find((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l));
  const v2 = lines.find((l) => l.startsWith('0::'));
  const own = v1
    ? join('/sys/fs/cgroup/memory', v1.split(':')[2] ?? '/')
    : v2
      ? join('/sys/fs/cgroup', v2.slice(3))
      : '';
  if (!own) return { skip: `${NO_CGROUP}: this process has no memory cgroup` };
  const dir = join(own, `lamina-agent-test-${process.pid}`);
  try {
    mkdirSync(dir);
    return { dir };
  } catch (err) {
    return { skip: `${NO_CGROUP}: cannot create one under ${own}: ${(err as Error).message}` };
  }
}

const cgroup = makeTestCgroup();
const skip = 'skip' in cgroup ? cgroup.skip : false;

const RUNTIMES = [
  ['nodejs20.x', 'node/basic', 'index.handler'],
  ['python3.13', 'python/basic', 'app.handler'],
] as const;

describe('memory limit (sampled, no cgroup)', () => {
  const agents = agentFixture();

  for (const [runtime, fixture, handler] of RUNTIMES) {
    test(`${runtime}: holding more than memorySize is Runtime.OutOfMemory, then the environment recovers`, async () => {
      const code = agents.store.put(zipOf(fixtureFiles(fixture)));
      const agent = await agents.start({
        fn: functionConfig({ runtime, handler, code, memorySize: 128, timeout: 20 }),
      });
      const before = (await agent.invoke({ action: 'echo' })).json<Json>().pid;
      const within = await agent.invoke({ action: 'oom', megabytes: 32, holdMs: 500 });
      assert.deepEqual(within.json(), { survived: 2 }, 'well inside memorySize nothing is killed');

      const res = await agent.invoke(
        { action: 'oom', megabytes: 256, holdMs: 10_000 },
        { 'X-Amzn-RequestId': `sampled-oom-${runtime}` },
      );
      assert.equal(res.headers['x-amz-function-error'], 'Unhandled');
      assert.equal(res.headers['x-lamina-environment-reset'], 'true');
      assert.deepEqual(res.json(), {
        errorType: 'Runtime.OutOfMemory',
        errorMessage: `RequestId: sampled-oom-${runtime} Error: Runtime exited with error: signal: killed`,
      });
      const next = await agent.invoke({ action: 'echo' });
      assert.equal(next.status, 200);
      assert.notEqual(next.json<Json>().pid, before);
    });
  }
});

describe('memory limit (cgroup)', { skip }, () => {
  const agents = agentFixture();

  after(async () => {
    if ('dir' in cgroup) {
      for (let attempt = 0; attempt < 50; attempt++) {
        try {
          rmdirSync(cgroup.dir);
          break;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    }
  });

  for (const [runtime, fixture, handler] of RUNTIMES) {
    test(`${runtime}: allocating past memorySize is Runtime.OutOfMemory, then the environment recovers`, async () => {
      const code = agents.store.put(zipOf(fixtureFiles(fixture)));
      const agent = await agents.start({
        fn: functionConfig({ runtime, handler, code, memorySize: 128, timeout: 10 }),
        env: { LAMINA_MEMORY_CGROUP: (cgroup as { dir: string }).dir },
      });
      const before = (await agent.invoke({ action: 'echo' })).json<Json>().pid;

      const res = await agent.invoke(
        { action: 'oom', megabytes: 512 },
        { 'X-Amzn-RequestId': `oom-${runtime}` },
      );
      assert.equal(res.headers['x-amz-function-error'], 'Unhandled');
      assert.equal(res.headers['x-lamina-environment-reset'], 'true');
      assert.deepEqual(res.json(), {
        errorType: 'Runtime.OutOfMemory',
        errorMessage: `RequestId: oom-${runtime} Error: Runtime exited with error: signal: killed`,
      });
      await agent.waitForStdout(
        new RegExp(`REPORT RequestId: oom-${runtime}\\t.*Status: error\\tError Type: Runtime.OutOfMemory`),
      );
      const report =
        agent
          .stdout()
          .split('\n')
          .find((l) => l.startsWith(`REPORT RequestId: oom-${runtime}`)) ?? '';
      const used = Number(/Max Memory Used: (\d+) MB/.exec(report)?.[1]);
      assert.ok(used >= 120 && used <= 130, `Max Memory Used is the cgroup peak, near 128 MB: ${report}`);

      const next = await agent.invoke({ action: 'echo' });
      assert.equal(next.status, 200);
      assert.notEqual(next.json<Json>().pid, before);
    });
  }
});
