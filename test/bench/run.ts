// `npm run bench`: Lamina's headline figures for the release installed by `npm run up` — the
// gateway Deployment through its NodePort Service (LAMINA_GATEWAY), the installed operator and
// artifact store — each beside a baseline measured in the same run, with the machine's
// conditions. Knobs (pool size, idle timeout) are set with `helm upgrade` and restored after.
//
//   1. cold start through pod creation (environments.pool.size=0) — the baseline;
//   2. cold start from the warm pool (same functions' twins, environments.pool.size=2);
//   3. warm invoke latency: plain HTTP echo (host, and in a pod), the agent by pod IP, the
//      gateway — the differences are the agent's and the gateway's overheads;
//   4. invokes/s through the gateway with N warm environments;
//   5. 0 → N concurrently running environments under the burst rule, N as many as the node
//      can hold (50 wanted);
//   6. time to first byte, streamed (InvokeWithResponseStream) beside buffered (Invoke);
//   7. scale-out of the gateway: invokes/s, latency and gateway CPU per 1,000 invokes with 1, 2
//      and 3 replicas (values-ha.yaml), 8 functions with one warm environment each;
//   8. records/s from Kafka through one function (an EventSourceMapping on the installed
//      operator) beside a plain consumer reading the same topic (kafka.ts).
//
// Sizes: BENCH_COLD_CREATE (5 per runtime), BENCH_COLD_POOL (15 per runtime), BENCH_SEQUENTIAL
// (500), BENCH_SECONDS (4), BENCH_ENVIRONMENTS (1,4,8), BENCH_BURST (50), BENCH_TTFB (50),
// BENCH_REPLICAS (1,2,3), BENCH_WRITE=0 to leave BENCHMARKS.md alone. BENCH_ONLY=ttfb measures section 6 alone
// (no helm upgrade, BENCHMARKS.md untouched); BENCH_ONLY=replicas section 7 alone (its values
// restored after; BENCHMARKS.md untouched); BENCH_ONLY=kafka section 8 alone (BENCH_KAFKA_RECORDS,
// 100,000; BENCH_KAFKA_BATCH, mapping batch sizes, 100,1000).
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { waitFor } from '../harness/gateway-kube.js';
import {
  installedRelease,
  invokeUrl as releaseInvokeUrl,
  setReleaseValues,
  testNamespace,
} from '../harness/release.js';
import {
  createFunctions,
  NODE_ECHO,
  NODE_HELLO,
  NODE_HOLD,
  PYTHON_HELLO,
  type BenchFunction,
} from './functions.js';
import { closedLoop, dispatcher, fmt, machine, percentile, post, sequential, sleep, timed } from './lib.js';
import { HOLD_MS, NODE_STREAMING, timeToFirstByte } from './ttfb.js';
import { SCALE_FUNCTIONS, scaleOutRows } from './replicas.js';
import { KAFKA_PARTITIONS, kafkaThroughput, type KafkaRow } from './kafka.js';

const COLD_CREATE = Number(process.env.BENCH_COLD_CREATE ?? 5);
const COLD_POOL = Number(process.env.BENCH_COLD_POOL ?? 15);
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ENVIRONMENTS = (process.env.BENCH_ENVIRONMENTS ?? '1,4,8').split(',').map(Number);
const BURST = Number(process.env.BENCH_BURST ?? 50);
const TTFB = Number(process.env.BENCH_TTFB ?? 50);
const REPLICAS = (process.env.BENCH_REPLICAS ?? '1,2,3').split(',').map(Number);
const KAFKA_RECORDS = Number(process.env.BENCH_KAFKA_RECORDS ?? 100_000);
const KAFKA_BATCH = (process.env.BENCH_KAFKA_BATCH ?? '100,1000').split(',').map(Number);
const POOL_SIZE = 2;
const PAYLOAD = Buffer.from(JSON.stringify({ hello: 'world', n: 42 }));
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

type Row = string[];
const progress = (section: string) => console.error(`[bench] ${new Date().toISOString()} ${section}`);
const table = (head: string[], rows: Row[]) =>
  [`| ${head.join(' | ')} |`, `| ${head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`]
    .concat(rows.map((r) => `| ${r.join(' | ')} |`))
    .join('\n');
const ttfbSection = (rows: Row[]) =>
  `### Time to first byte, streaming vs buffered (handler writes a chunk, waits ${HOLD_MS} ms, writes the rest; warm, sequential)\n\n` +
  table(['API', 'first byte p50 ms', 'first byte p99 ms', 'whole response p50 ms', 'samples'], rows);

/** BENCH_ONLY=ttfb: section 6 alone, against the release as installed. */
async function ttfbOnly() {
  const release = await installedRelease();
  const ns = await testNamespace(release, 'bench-ttfb');
  try {
    await createFunctions(release, ns.name, { stream: NODE_STREAMING });
    progress('time to first byte');
    console.log(
      `\n${machine()}\n\n${ttfbSection(await timeToFirstByte(release, ns.name, 'stream', TTFB))}\n`,
    );
  } finally {
    await ns.dispose();
    await dispatcher.close();
  }
}

const scaleOutSection = (rows: Row[]) =>
  `### Scale-out of the gateway (closed loop, ${SCALE_FUNCTIONS} functions with one warm environment each, one invoke in flight per function, ${SECONDS} s per row)\n\n` +
  table(
    [
      'gateway replicas',
      'invokes/s',
      'p50 ms',
      'p99 ms',
      'errors',
      'gateway CPU ms per 1,000 invokes',
      'p50 ms straight to the owner',
      'p50 ms via a non-owner',
    ],
    rows,
  ) +
  '\n\nCPU is the sum over the gateway containers (cpuacct cgroups) during the row; with several replicas a request that reaches a non-owner is forwarded to the owner (one more hop). The last two columns: sequential invokes of one warm function sent straight to the pod of the replica that owns it, and to one that forwards them there — the difference is what the extra hop costs.';

const scaleFunctions = () =>
  Object.fromEntries(Array.from({ length: SCALE_FUNCTIONS }, (_, i) => [`scale-${i}`, NODE_ECHO]));

/** BENCH_ONLY=replicas: section 7 alone. */
async function replicasOnly() {
  const release = await installedRelease();
  const ns = await testNamespace(release, 'bench-scale');
  let restore: (() => Promise<void>) | undefined;
  try {
    const functions = scaleFunctions();
    await createFunctions(release, ns.name, functions);
    progress('gateway scale-out');
    const out = await scaleOutRows(
      release,
      (fn, gatewayUrl) =>
        post(releaseInvokeUrl(gatewayUrl ? { ...release, gatewayUrl } : release, ns.name, fn), PAYLOAD),
      Object.keys(functions),
      SECONDS,
      REPLICAS,
    );
    restore = out.restore;
    console.log(`\n${machine()}\n\n${scaleOutSection(out.rows)}\n`);
  } finally {
    await ns.dispose();
    await restore?.();
    await dispatcher.close();
  }
}

const kafkaSection = (rows: KafkaRow[]) =>
  `### Records/s from Kafka through one function (${KAFKA_RECORDS} records of ~20 bytes, ${KAFKA_PARTITIONS} partitions, the same topic read by each row)\n\n` +
  table(
    ['path', 'records/s', 'records', 's'],
    rows.map((r) => [r.path, r.recordsPerSecond.toFixed(0), `${r.records}`, r.seconds.toFixed(2)]),
  ) +
  '\n\nThe plain consumer (from the first record to the last) is the ceiling of the broker and client on this machine; through the function, the rate of the mapping’s committed offsets from its first commit to its last (each commit after the batch’s invoke succeeded).';

/** BENCH_ONLY=kafka: section 8 alone. */
async function kafkaOnly() {
  const release = await installedRelease();
  const ns = await testNamespace(release, 'bench-kafka');
  try {
    progress('Kafka through one function');
    const rows = await kafkaThroughput(release, ns.name, KAFKA_RECORDS, KAFKA_BATCH);
    console.log(`\n${machine()}\n\n${kafkaSection(rows)}\n`);
  } finally {
    await ns.dispose();
    await dispatcher.close();
  }
}

const stats = (s: number[]) => [
  fmt(percentile(s, 50)),
  fmt(percentile(s, 99)),
  fmt(Math.max(...s)),
  `${s.length}`,
];

async function main() {
  const release = await installedRelease();
  const core = release.kc.makeApiClient(CoreV1Api);
  const ns = await testNamespace(release, 'bench');
  const conditionsBefore = machine();
  console.error(
    `[bench] the installed release at ${release.gatewayUrl}; namespace ${ns.name}; ${conditionsBefore}`,
  );

  const runtimes = { node: NODE_HELLO, python: PYTHON_HELLO } as const;
  const functions: Record<string, BenchFunction> = {
    echo: NODE_ECHO,
    hold: NODE_HOLD,
    stream: NODE_STREAMING,
  };
  for (const [rt, fn] of Object.entries(runtimes)) {
    for (let i = 0; i < COLD_CREATE; i++) functions[`create-${rt}-${i}`] = fn;
    for (let i = 0; i < COLD_POOL; i++) functions[`pool-${rt}-${i}`] = fn;
  }
  Object.assign(functions, scaleFunctions());
  let restore: (() => Promise<void>) | undefined;
  /** Sets the release's pool size (restarting the gateway), keeping the first values to restore. */
  const configure = async (poolSize: number) => {
    const back = await setReleaseValues(release, {
      'environments.pool.size': poolSize,
      'environments.idleTimeoutSeconds': 600,
      'environments.coldStartTimeoutSeconds': 30,
    });
    restore ??= back;
  };
  const invoke = (name: string, body = PAYLOAD) => post(releaseInvokeUrl(release, ns.name, name), body);
  const live = async (selector: string) =>
    (await core.listNamespacedPod({ namespace: ns.name, labelSelector: selector })).items.filter(
      (p) => !p.metadata?.deletionTimestamp,
    );
  const isReady = (p: V1Pod) =>
    (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  const deleteFunctionPods = async (fn?: string) => {
    const selector = `lamina.dev/environment=true${fn ? `,lamina.dev/function=${fn}` : ''}`;
    await core.deleteCollectionNamespacedPod({
      namespace: ns.name,
      labelSelector: selector,
      gracePeriodSeconds: 0,
    });
    await waitFor(
      'environment pods to go',
      async () => ((await live(selector)).length === 0 ? true : undefined),
      60_000,
      100,
    );
  };
  const poolReady = (n: number) =>
    waitFor(
      `${n} ready pool pods`,
      // Every gateway replica's pool pods count (each replica keeps its own pool).
      async () => ((await live('lamina.dev/pool=true')).filter(isReady).length >= n ? true : undefined),
      120_000,
      50,
    );

  const sections: string[] = [];
  const echoPodName = `bench-echo-${randomBytes(3).toString('hex')}`;
  try {
    await createFunctions(release, ns.name, functions);
    // 1. Cold start through pod creation: no pool.
    progress('cold start through pod creation');
    await configure(0);
    const create: Record<string, number[]> = { node: [], python: [] };
    for (let i = 0; i < COLD_CREATE; i++) {
      for (const rt of Object.keys(runtimes)) {
        create[rt]!.push(await timed(() => invoke(`create-${rt}-${i}`)));
        await deleteFunctionPods(`create-${rt}-${i}`);
      }
    }

    // 2. Cold start from the warm pool.
    progress('cold start from the warm pool');
    await configure(POOL_SIZE);
    const pool: Record<string, number[]> = { node: [], python: [] };
    for (let i = 0; i < COLD_POOL; i++) {
      for (const rt of Object.keys(runtimes)) {
        await poolReady(POOL_SIZE);
        await sleep(200); // let the refilled pod's start-up CPU settle
        pool[rt]!.push(await timed(() => invoke(`pool-${rt}-${i}`)));
        await deleteFunctionPods(`pool-${rt}-${i}`);
      }
    }
    const claims = (await (await fetch(`${release.gatewayUrl}/metrics`)).text())
      .split('\n')
      .filter((l) => l.startsWith('lamina_warm_pool_claims_total'))
      .map((l) => `${/result="(\w+)"/.exec(l)?.[1]}=${l.split(' ').pop()}`)
      .join(', ');
    sections.push(
      '### Cold start (first invoke of a fresh hello-world function, client → gateway → answer)\n\n' +
        table(
          ['path', 'runtime', 'p50 ms', 'p99 ms', 'max ms', 'samples'],
          [
            ['warm pool (specialise a generic pod)', 'Node.js 20', ...stats(pool.node!)],
            ['warm pool (specialise a generic pod)', 'Python 3.13', ...stats(pool.python!)],
            ['baseline: pod creation (pool off)', 'Node.js 20', ...stats(create.node!)],
            ['baseline: pod creation (pool off)', 'Python 3.13', ...stats(create.python!)],
          ],
        ) +
        `\n\nPool claims in this run: ${claims || 'none'}. With ${COLD_POOL} samples per runtime p99 is close to the maximum.`,
    );

    // 3. Warm invoke latency.
    progress('warm invoke latency');
    await timed(() => invoke('echo'));
    // The gateway used the environment as soon as its agent answered; the kubelet's readiness
    // probe may report it Ready a moment later.
    const envPod = await waitFor(
      'a Ready environment of the echo function after its invoke',
      async () => (await live('lamina.dev/function=echo')).find(isReady),
      30_000,
      200,
    );
    const agentUrl = `http://${envPod.status!.podIP}:8080/2015-03-31/functions/function/invocations`;
    await core.createNamespacedPod({
      namespace: ns.name,
      body: {
        metadata: { name: echoPodName },
        spec: {
          automountServiceAccountToken: false,
          containers: [
            {
              name: 'echo',
              image: 'lamina/runtime:dev',
              imagePullPolicy: 'IfNotPresent',
              command: [
                'node',
                '-e',
                "require('http').createServer((q, s) => { const c = []; q.on('data', (d) => c.push(d)); q.on('end', () => s.end(Buffer.concat(c))); }).listen(8080)",
              ],
              resources: { requests: { cpu: '10m', memory: '32Mi' } },
              // Ready only once it listens (Node.js takes a moment to start).
              readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
            },
          ],
        },
      },
    });
    const echoPod = await waitFor(
      'the echo pod',
      async () => {
        const p = await core.readNamespacedPod({ namespace: ns.name, name: echoPodName });
        return p.status?.podIP && isReady(p) ? p : undefined;
      },
      60_000,
      100,
    );
    const podEchoUrl = `http://${echoPod.status!.podIP}:8080/`;
    const { createServer } = await import('node:http');
    const hostEcho = createServer((req, res) => {
      const c: Buffer[] = [];
      req.on('data', (d: Buffer) => c.push(d));
      req.on('end', () => res.end(Buffer.concat(c)));
    });
    await new Promise<void>((r) => hostEcho.listen(0, '127.0.0.1', r));
    const hostEchoUrl = `http://127.0.0.1:${(hostEcho.address() as { port: number }).port}/`;
    let seq = 0;
    const agentHeaders = () => ({ 'x-amzn-requestid': `bench-${seq++}` });
    const hostEchoSamples = await sequential(SEQUENTIAL, 50, () => post(hostEchoUrl, PAYLOAD));
    const podEchoSamples = await sequential(SEQUENTIAL, 50, () => post(podEchoUrl, PAYLOAD));
    const agentSamples = await sequential(SEQUENTIAL, 50, () => post(agentUrl, PAYLOAD, agentHeaders()));
    const gatewaySamples = await sequential(SEQUENTIAL, 50, () => invoke('echo'));
    hostEcho.close();
    const diff = (a: number[], b: number[], p: number) => fmt(percentile(a, p) - percentile(b, p));
    sections.push(
      `### Warm invoke latency (sequential, keep-alive, ${PAYLOAD.length}-byte JSON, echo handler)\n\n` +
        table(
          ['path', 'p50 ms', 'p99 ms', 'max ms', 'samples'],
          [
            ['baseline: plain HTTP echo on the host (loopback)', ...stats(hostEchoSamples)],
            ['baseline: plain HTTP echo in a pod (pod IP)', ...stats(podEchoSamples)],
            ['agent + runtime directly (pod IP)', ...stats(agentSamples)],
            ['gateway → agent → runtime (Invoke API)', ...stats(gatewaySamples)],
            [
              'overhead of the gateway (gateway − agent)',
              diff(gatewaySamples, agentSamples, 50),
              diff(gatewaySamples, agentSamples, 99),
              '',
              '',
            ],
            [
              'overhead of agent + runtime hop (agent − pod echo)',
              diff(agentSamples, podEchoSamples, 50),
              diff(agentSamples, podEchoSamples, 99),
              '',
              '',
            ],
            [
              'overhead of gateway + agent (gateway − pod echo)',
              diff(gatewaySamples, podEchoSamples, 50),
              diff(gatewaySamples, podEchoSamples, 99),
              '',
              '',
            ],
          ],
        ),
    );

    // 4. Throughput with N warm environments.
    progress('throughput');
    const rows: Row[] = [];
    const podEchoLoop = await closedLoop(Math.max(...ENVIRONMENTS), SECONDS, () => post(podEchoUrl, PAYLOAD));
    for (const n of ENVIRONMENTS) {
      for (let i = 0; i < 2; i++) await Promise.all(Array.from({ length: n }, () => invoke('echo')));
      const r = await closedLoop(n, SECONDS, () => invoke('echo'));
      rows.push([
        `${n}`,
        r.perSecond.toFixed(0),
        fmt(percentile(r.samples, 50)),
        fmt(percentile(r.samples, 99)),
        `${r.errors}`,
      ]);
    }
    rows.push([
      `baseline: echo pod, ${Math.max(...ENVIRONMENTS)} in flight`,
      podEchoLoop.perSecond.toFixed(0),
      fmt(percentile(podEchoLoop.samples, 50)),
      fmt(percentile(podEchoLoop.samples, 99)),
      `${podEchoLoop.errors}`,
    ]);
    sections.push(
      `### Throughput through one gateway (closed loop, one invoke in flight per warm environment, ${SECONDS} s each)\n\n` +
        table(['warm environments', 'invokes/s', 'p50 ms', 'p99 ms', 'errors'], rows),
    );
    await core.deleteNamespacedPod({ namespace: ns.name, name: echoPodName, gracePeriodSeconds: 0 });

    // 6. Time to first byte, streamed and buffered.
    progress('time to first byte');
    sections.push(ttfbSection(await timeToFirstByte(release, ns.name, 'stream', TTFB)));
    await deleteFunctionPods();

    // 5. Burst: 0 → N concurrently running environments.
    progress('scale-out');
    const node = (await core.listNode()).items[0]!;
    const allocMillis = cpuMillis(node.status?.allocatable?.cpu ?? '0');
    const onNode = (
      await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node.metadata!.name}` })
    ).items.filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
    const requested = onNode.reduce(
      (sum, p) =>
        sum +
        (p.spec?.containers ?? []).reduce((s, c) => s + cpuMillis(c.resources?.requests?.cpu ?? '0'), 0),
      0,
    );
    const perEnv = Math.max(1, Math.round((128 * 1000) / 1769));
    // Keep one environment's worth of headroom for the pool's refills.
    const fits = Math.max(0, Math.floor((allocMillis - requested) / perEnv) - 1);
    const target = Math.min(BURST, fits);
    await poolReady(POOL_SIZE);
    const t0 = Date.now();
    const started0 = performance.now();
    const results = await Promise.allSettled(
      Array.from({ length: target }, () => invoke('hold', Buffer.from(JSON.stringify({ ms: 3000 })))),
    );
    const wall = performance.now() - started0;
    const starts = results
      .flatMap((r) => (r.status === 'fulfilled' && r.value.status === 200 ? [r.value] : []))
      .map((r) => (JSON.parse(r.text) as { start: number }).start - t0)
      .sort((a, b) => a - b);
    const within = starts.filter((s) => s <= 15_000).length;
    sections.push(
      `### Scale-out: 0 → N concurrently running environments (burst ${'1000'}, one function, handler holds 3 s)\n\n` +
        table(
          [
            'wanted',
            'node can hold',
            'ran',
            'time to first ms',
            'time to half ms',
            'time to all ms',
            'running within 15 s',
            'failed',
          ],
          [
            [
              `${BURST}`,
              `${fits} (CPU ${allocMillis}m allocatable, ${requested}m requested, ${perEnv}m per 128 MB environment)`,
              `${starts.length} of ${target}`,
              fmt(starts[0] ?? NaN),
              fmt(starts[Math.floor(starts.length / 2)] ?? NaN),
              fmt(starts[starts.length - 1] ?? NaN),
              `${within}`,
              `${target - starts.length}`,
            ],
          ],
        ) +
        `\n\n${POOL_SIZE} of them could come from the warm pool; the rest are pods created at once (the burst allows all). Whole burst took ${fmt(wall)} ms.`,
    );
    await deleteFunctionPods();

    // 8. Kafka through one function, beside a plain consumer of the same topic.
    progress('Kafka through one function');
    const kafka = kafkaSection(await kafkaThroughput(release, ns.name, KAFKA_RECORDS, KAFKA_BATCH));

    // 7. Scale-out of the gateway over 1, 2, 3 replicas.
    progress('gateway scale-out');
    const scale = await scaleOutRows(
      release,
      (fn, gatewayUrl) =>
        post(releaseInvokeUrl(gatewayUrl ? { ...release, gatewayUrl } : release, ns.name, fn), PAYLOAD),
      Object.keys(scaleFunctions()),
      SECONDS,
      REPLICAS,
    );
    restore ??= scale.restore;
    sections.push(scaleOutSection(scale.rows));
    sections.push(kafka);
  } finally {
    await ns.dispose();
    await restore?.();
    await dispatcher.close();
  }

  const conditionsAfter = machine();
  const report = [
    `Measured ${new Date().toISOString()} on this machine: ${conditionsBefore} at the start; load ${conditionsAfter.split('load average ')[1]?.split(',')[0]} at the end.`,
    `Path measured: the installed Helm release — the gateway Deployment through its Service at ${release.gatewayUrl}, environments created by it from the installed operator's Functions and the installed artifact store.`,
    ...sections,
  ].join('\n\n');
  console.log(`\n${report}\n`);
  if (process.env.BENCH_WRITE !== '0') writeBenchmarks(report);
}

function cpuMillis(value: string): number {
  return value.endsWith('m') ? Number(value.slice(0, -1)) : Math.round(Number(value) * 1000);
}

/** Replaces the "Latest run" section of BENCHMARKS.md. */
function writeBenchmarks(report: string): void {
  const path = `${repoRoot}BENCHMARKS.md`;
  const marker = '<!-- latest run: written by `npm run bench` -->';
  const end = '<!-- end of latest run -->';
  const text = readFileSync(path, 'utf8');
  const start = text.indexOf(marker);
  const stop = text.indexOf(end);
  if (start < 0 || stop < 0) return;
  writeFileSync(path, `${text.slice(0, start + marker.length)}\n\n${report}\n\n${text.slice(stop)}`);
}

const only = process.env.BENCH_ONLY;
(only === 'ttfb'
  ? ttfbOnly()
  : only === 'replicas'
    ? replicasOnly()
    : only === 'kafka'
      ? kafkaOnly()
      : main()
).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
