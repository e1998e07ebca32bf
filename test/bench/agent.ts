// Benchmark of the execution-environment agent: `npx tsx test/bench/agent.ts`
// (BENCH_INVOKES, BENCH_WARMUP, BENCH_INITS to change the sample sizes).
//
// - warm invoke round trip through the agent (gateway → agent → runtime → agent → gateway)
//   for a no-op Node.js and Python handler, beside a plain node:http echo server measured in
//   the same run as the baseline: the difference is what the agent and runtime client cost;
// - Init duration (runtime start until its first /next) and whole specialisation time
//   (download + verify + extract + Init) of a generic agent, per runtime.
// The agent runs as the image runs it: the Go binary (runtime-image/agent-go, built by the
// harness); LAMINA_AGENT_BIN=<path> measures another build of it.
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import {
  functionConfig,
  pythonVersion,
  startAgent,
  startArtifactStore,
  zipOf,
  type ArtifactStore,
} from '../integration/agent/harness.js';

const INVOKES = Number(process.env.BENCH_INVOKES ?? 2000);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 200);
const INITS = Number(process.env.BENCH_INITS ?? 7);
const PAYLOAD = Buffer.from(JSON.stringify({ hello: 'world', n: 42 }));

const NOOP = {
  node: {
    runtime: 'nodejs20.x',
    handler: 'index.handler',
    files: { 'index.js': 'exports.handler = async () => null;\n' },
  },
  python: {
    runtime: 'python3.13',
    handler: 'app.handler',
    files: { 'app.py': 'def handler(event, context):\n    return None\n' },
  },
};

const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });

function post(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path,
        agent: keepAlive,
        headers: { 'Content-Length': PAYLOAD.length },
      },
      (res) => {
        res.on('data', () => {});
        res.on('end', () => {
          if (res.statusCode !== 200 || res.headers['x-amz-function-error'])
            reject(new Error(`status ${res.statusCode}`));
          else resolve(Number(process.hrtime.bigint() - started) / 1e6);
        });
      },
    );
    req.on('error', reject);
    req.end(PAYLOAD);
  });
}

async function measure(port: number, path: string): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) await post(port, path);
  const samples: number[] = [];
  for (let i = 0; i < INVOKES; i++) samples.push(await post(port, path));
  return samples;
}

const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
};

/** The baseline: an echo server in its own process, as the agent is. */
async function startEchoServer(): Promise<{ port: number; stop: () => void }> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      "require('http').createServer((req, res) => { const c = []; req.on('data', (d) => c.push(d)); " +
        "req.on('end', () => res.end(Buffer.concat(c))); }).listen(0, '127.0.0.1', function () { console.log(this.address().port); });",
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve) =>
    child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString()))),
  );
  return { port, stop: () => child.kill() };
}

async function warmInvokes(store: ArtifactStore, kind: keyof typeof NOOP): Promise<number[]> {
  const fn = NOOP[kind];
  const agent = await startAgent({
    fn: functionConfig({ runtime: fn.runtime, handler: fn.handler, code: store.put(zipOf(fn.files)) }),
  });
  try {
    return await measure(agent.port, '/2015-03-31/functions/function/invocations');
  } finally {
    await agent.stop();
  }
}

/** Init of a generic agent's first function: a fresh runtime, or the agent's standby runtime. */
async function initTimes(
  store: ArtifactStore,
  kind: keyof typeof NOOP,
  standby: boolean,
): Promise<{ init: number[]; specialize: number[] }> {
  const fn = NOOP[kind];
  const code = store.put(zipOf(fn.files));
  const init: number[] = [];
  const specialize: number[] = [];
  for (let i = 0; i < INITS; i++) {
    const agent = await startAgent(standby ? { env: { LAMINA_STANDBY_MEMORY_SIZE: '128' } } : {});
    try {
      // a pool pod waits far longer than the standby runtimes need to load
      if (standby) await new Promise((resolve) => setTimeout(resolve, 1000));
      const started = process.hrtime.bigint();
      const res = await agent.specialize(functionConfig({ runtime: fn.runtime, handler: fn.handler, code }));
      specialize.push(Number(process.hrtime.bigint() - started) / 1e6);
      init.push(res.json<{ initDurationMs: number }>().initDurationMs);
    } finally {
      await agent.stop();
    }
  }
  return { init, specialize };
}

const row = (cells: string[], widths: number[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 10)).join('  ');
const ms = (v: number) => `${v.toFixed(3)} ms`;

async function main() {
  const store = await startArtifactStore();
  const echo = await startEchoServer();
  try {
    console.log(
      `warm invokes: ${INVOKES} sequential requests after ${WARMUP} warm-up, keep-alive, ${PAYLOAD.length}-byte event`,
    );
    const baseline = await measure(echo.port, '/');
    const node = await warmInvokes(store, 'node');
    const python = await warmInvokes(store, 'python');
    const widths = [34, 12, 12, 16];
    console.log(row(['round trip', 'p50', 'p99', 'p50 over echo'], widths));
    for (const [name, samples] of [
      ['plain node:http echo (baseline)', baseline],
      ['agent + Node.js no-op handler', node],
      [`agent + Python no-op (${pythonVersion})`, python],
    ] as const) {
      const overhead = quantile(samples, 0.5) - quantile(baseline, 0.5);
      console.log(
        row(
          [
            name,
            ms(quantile(samples, 0.5)),
            ms(quantile(samples, 0.99)),
            samples === baseline ? '-' : `+${ms(overhead)}`,
          ],
          widths,
        ),
      );
    }

    console.log(`\ninit: p50 over ${INITS} specialisations of a generic agent each`);
    console.log(row(['runtime', 'Init p50', 'Init max', 'specialise p50'], widths));
    for (const kind of ['node', 'python'] as const) {
      for (const standby of [false, true]) {
        const { init, specialize } = await initTimes(store, kind, standby);
        const label = `${kind === 'node' ? `nodejs20.x (node ${process.versions.node})` : `python3.13 (${pythonVersion})`}${standby ? ', standby' : ''}`;
        console.log(
          row([label, ms(quantile(init, 0.5)), ms(Math.max(...init)), ms(quantile(specialize, 0.5))], widths),
        );
      }
    }
  } finally {
    echo.stop();
    await store.close();
  }
}

await main();
