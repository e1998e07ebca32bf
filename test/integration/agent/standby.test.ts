// Standby runtimes: a generic (warm-pool) agent starts the Node.js and Python runtime clients
// before any function is known, and specialisation hands the matching one its function. The
// function must not be able to tell: same environment, working directory and module paths as
// a runtime started for it. Functions a standby cannot take start a fresh runtime.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  agentFixture,
  fixtureFiles,
  functionConfig,
  pythonVersion,
  zipOf,
  type AgentProcess,
  type HttpResult,
} from './harness.js';

type Json = Record<string, unknown>;
const STANDBY = { LAMINA_STANDBY_MEMORY_SIZE: '128' };

const RUNTIMES = [
  { runtime: 'nodejs20.x', fixture: 'node/basic', handler: 'index.handler', action: 'context' },
  { runtime: 'python3.13', fixture: 'python/basic', handler: 'app.handler', action: 'context_fields' },
] as const;

/** The pids the agent logged for `msg`, by runtime. */
function loggedPids(agent: AgentProcess, msg: string): Record<string, number> {
  const pids: Record<string, number> = {};
  for (const line of agent.stderr().split('\n')) {
    if (!line.includes(`"msg":"${msg}"`)) continue;
    const entry = JSON.parse(line) as { runtime: string; pid: number };
    pids[entry.runtime] = entry.pid;
  }
  return pids;
}

/** A generic agent with standby runtimes, once it has logged starting both. */
async function startPooled(agents: ReturnType<typeof agentFixture>) {
  const agent = await agents.start({ env: STANDBY });
  // Not ready for a cold start until both runtimes wait for their function.
  let health = await agent.health();
  for (let i = 0; i < 250 && health.status !== 200; i++) {
    assert.deepEqual(health.json(), { state: 'generic', busy: false, standbys: 'starting' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    health = await agent.health();
  }
  assert.deepEqual(health.json(), { state: 'generic', busy: false });
  const standbyPids = loggedPids(agent, 'standby runtime started');
  assert.deepEqual(Object.keys(standbyPids).sort(), ['nodejs20.x', 'python3.13'], agent.stderr());
  assert.deepEqual(loggedPids(agent, 'standby runtime parked'), standbyPids, 'both parked');
  return { pooled: agent, standbyPids };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** What the function sees of its process, less what differs between any two agents (directories, port, stream). */
function normalised(agent: AgentProcess, res: HttpResult): Json {
  assert.equal(res.status, 200, res.text);
  const text = res.text.split(agent.taskRoot).join('<task>').split(agent.optRoot).join('<opt>');
  const seen = JSON.parse(text) as Json & { env: Record<string, string> };
  for (const key of ['AWS_LAMBDA_LOG_STREAM_NAME', 'AWS_LAMBDA_RUNTIME_API', '_X_AMZN_TRACE_ID'])
    delete seen.env[key];
  for (const key of ['awsRequestId', 'aws_request_id', 'logStreamName', 'log_stream_name', 'remaining'])
    delete seen[key];
  return seen;
}

describe('standby runtimes', () => {
  const agents = agentFixture();

  for (const { runtime, fixture, handler, action } of RUNTIMES) {
    test(`${runtime}: the standby takes the function, which sees exactly what a fresh runtime sees`, async () => {
      const code = agents.store.put(zipOf(fixtureFiles(fixture)));
      // Module lookup through a layer: NODE_PATH and sys.path are settled after the hand-over.
      const layer = agents.store.put(
        zipOf({
          'nodejs/node_modules/layer-lib/index.js': "module.exports = { name: 'from the layer' };",
          'shared.txt': 'shared',
          'python/layerlib.py': 'NAME = "from the layer"\n',
          [`python/lib/${pythonVersion}/site-packages/sitelib.py`]: 'NAME = "from site-packages"\n',
        }),
      );
      const fn = functionConfig({
        runtime,
        handler,
        code,
        layers: [layer],
        environment: { GREETING: 'hello', TZ_NOTE: 'x' },
      });

      const { pooled, standbyPids } = await startPooled(agents);
      const specialised = await pooled.specialize(fn);
      assert.equal(specialised.status, 200, specialised.text);
      assert.deepEqual(loggedPids(pooled, 'standby runtime takes the function'), {
        [runtime]: standbyPids[runtime],
      });
      const viaStandby = await pooled.invoke({ action });
      const layers = await pooled.invoke({ action: 'layers', optRoot: pooled.optRoot });
      assert.equal(layers.status, 200, layers.text);
      assert.match(layers.text, /from the layer/);
      const echo = await pooled.invoke({ action: 'echo' });
      assert.equal(echo.json<Json>().pid, standbyPids[runtime], 'the function runs in the standby process');
      for (const [other, pid] of Object.entries(standbyPids)) {
        if (other !== runtime) assert.ok(!alive(pid as number), `the ${other} standby was dismissed`);
      }

      const fresh = await agents.start({ fn });
      const viaFresh = await fresh.invoke({ action });
      const seen = normalised(pooled, viaStandby);
      assert.deepEqual(seen, normalised(fresh, viaFresh));
      assert.equal((seen.env as Json).GREETING, 'hello');
      assert.equal((seen.env as Json).LAMINA_STANDBY, undefined);
    });
  }

  test('a function whose start-up variables differ (NODE_OPTIONS) gets a fresh runtime', async () => {
    const code = agents.store.put(zipOf(fixtureFiles('node/basic')));
    const { pooled, standbyPids } = await startPooled(agents);
    const res = await pooled.specialize(
      functionConfig({
        runtime: 'nodejs20.x',
        handler: 'index.handler',
        code,
        environment: { NODE_OPTIONS: '--no-warnings' },
      }),
    );
    assert.equal(res.status, 200, res.text);
    const echo = await pooled.invoke({ action: 'echo' });
    assert.equal(echo.status, 200, echo.text);
    assert.ok(!Object.values(standbyPids).includes(echo.json<Json>().pid as number), 'a fresh process');
    for (const pid of Object.values(standbyPids)) assert.ok(!alive(pid), 'every standby was dismissed');
  });

  test('a memory size other than the standby’s gets a fresh runtime', async () => {
    const code = agents.store.put(zipOf(fixtureFiles('python/basic')));
    const { pooled, standbyPids } = await startPooled(agents);
    const res = await pooled.specialize(
      functionConfig({ runtime: 'python3.13', handler: 'app.handler', code, memorySize: 256 }),
    );
    assert.equal(res.status, 200, res.text);
    const echo = await pooled.invoke({ action: 'echo' });
    assert.ok(!Object.values(standbyPids).includes(echo.json<Json>().pid as number), 'a fresh process');
  });
});
