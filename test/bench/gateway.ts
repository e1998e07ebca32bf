// Gateway benchmark on the local cluster with the real runtime image (`npm run bench:gateway`;
// the cluster from scripts/cluster/up.sh, KUBECONFIG optional). Measured in one run, side by
// side with its baselines:
//   - warm invoke latency: a plain HTTP echo on the host, the agent called directly by pod IP,
//     and the same invoke through the gateway (the difference is the gateway's overhead);
//   - invokes/s through the gateway with N warm environments (closed loop, N in flight);
//   - cold start through pod creation: first invoke of fresh functions, end to end.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import { ensureCluster } from '../harness/cluster.js';
import { createTestNamespace, installLaminaCrds, waitFor } from '../harness/gatewayKube.js';
import { startGatewayProcess } from '../harness/gatewayProcess.js';
import { createInlineFunction, resolveCodeOrStandIn } from '../harness/gatewayStandIn.js';

const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 300);
const THROUGHPUT_SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARM_ENVIRONMENTS = (process.env.BENCH_ENVIRONMENTS ?? '1,2,4').split(',').map(Number);
const COLD_SAMPLES = Number(process.env.BENCH_COLD ?? 5);

const ECHO = 'export const handler = async (event) => event;\n';
const PAYLOAD = Buffer.from(JSON.stringify({ hello: 'world', n: 42 }));
const dispatcher = new Agent({ keepAliveTimeout: 60_000, connections: 64 });

async function post(url: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await request(url, { method: 'POST', body: PAYLOAD, headers, dispatcher });
  await res.body.arrayBuffer();
  return res.statusCode;
}

async function timed(fn: () => Promise<number>): Promise<number> {
  const start = performance.now();
  const status = await fn();
  if (status !== 200) throw new Error(`unexpected status ${status}`);
  return performance.now() - start;
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function sequential(n: number, fn: () => Promise<number>): Promise<number[]> {
  for (let i = 0; i < 20; i++) await timed(fn); // warm-up
  const samples = [];
  for (let i = 0; i < n; i++) samples.push(await timed(fn));
  return samples;
}

async function closedLoop(inFlight: number, seconds: number, fn: () => Promise<number>) {
  const deadline = performance.now() + seconds * 1000;
  const samples: number[] = [];
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < deadline) samples.push(await timed(fn));
    }),
  );
  return { perSecond: samples.length / seconds, samples };
}

const fmt = (ms: number) => ms.toFixed(2);

async function main() {
  const kubeconfigPath = process.env.KUBECONFIG ?? (await ensureCluster()).kubeconfigPath;
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  await installLaminaCrds(kc);
  const ns = await createTestNamespace(kc, 'gwbench');
  const core = kc.makeApiClient(CoreV1Api);
  const coldNames = Array.from({ length: COLD_SAMPLES }, (_, i) => `cold-${i}`);
  const functions = Object.fromEntries([['bench', ECHO], ...coldNames.map((n) => [n, ECHO])]);
  for (const name of Object.keys(functions)) await createInlineFunction(kc, ns.name, name, ECHO);
  const standIn = await resolveCodeOrStandIn(kc, ns.name, functions);
  const gateway = await startGatewayProcess({
    KUBECONFIG: kubeconfigPath,
    LAMINA_DEFAULT_NAMESPACE: ns.name,
    LAMINA_IDLE_TIMEOUT_MS: '600000',
    LAMINA_LOG_LEVEL: 'warn',
    ...(standIn.storeUrl ? { LAMINA_STORE_URL: standIn.storeUrl } : {}),
  });
  const echo = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(Buffer.concat(chunks)),
    );
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  const echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}/`;
  const invokeUrl = (name: string) => `${gateway.url}/2015-03-31/functions/${name}/invocations`;

  try {
    const rows: Array<[string, string, string, string]> = [];
    // Cold starts first, while nothing else is warm.
    const cold: number[] = [];
    for (const name of coldNames) cold.push(await timed(() => post(invokeUrl(name))));

    await timed(() => post(invokeUrl('bench')));
    const pod = await waitFor('the warm environment pod', async () => {
      const pods = await core.listNamespacedPod({
        namespace: ns.name,
        labelSelector: 'lamina.dev/function=bench',
      });
      return pods.items.find((p) => p.status?.podIP);
    });
    const agentUrl = `http://${pod.status!.podIP}:8080/2015-03-31/functions/function/invocations`;
    let seq = 0;
    const agentHeaders = () => ({ 'x-amzn-requestid': `bench-${seq++}`, 'content-type': 'application/json' });

    const plain = await sequential(SEQUENTIAL, () => post(echoUrl));
    const direct = await sequential(SEQUENTIAL, () => post(agentUrl, agentHeaders()));
    const through = await sequential(SEQUENTIAL, () => post(invokeUrl('bench')));
    rows.push([
      'plain HTTP echo on the host',
      fmt(percentile(plain, 50)),
      fmt(percentile(plain, 99)),
      `${plain.length}`,
    ]);
    rows.push([
      'agent directly (pod IP)',
      fmt(percentile(direct, 50)),
      fmt(percentile(direct, 99)),
      `${direct.length}`,
    ]);
    rows.push([
      'through the gateway (Invoke API)',
      fmt(percentile(through, 50)),
      fmt(percentile(through, 99)),
      `${through.length}`,
    ]);
    rows.push([
      'gateway overhead (gateway − agent)',
      fmt(percentile(through, 50) - percentile(direct, 50)),
      fmt(percentile(through, 99) - percentile(direct, 99)),
      '',
    ]);

    const throughput: Array<[number, number, number]> = [];
    for (const n of WARM_ENVIRONMENTS) {
      // Make sure n environments are warm before measuring.
      for (let i = 0; i < 2; i++)
        await Promise.all(Array.from({ length: n }, () => post(invokeUrl('bench'))));
      const result = await closedLoop(n, THROUGHPUT_SECONDS, () => post(invokeUrl('bench')));
      throughput.push([n, result.perSecond, percentile(result.samples, 50)]);
    }

    console.log('\nWarm invoke latency (sequential, keep-alive, 34-byte JSON payload)');
    console.log('| path | p50 ms | p99 ms | samples |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const r of rows) console.log(`| ${r.join(' | ')} |`);
    console.log('\nThroughput through the gateway (closed loop, one invoke in flight per warm environment)');
    console.log('| warm environments | invokes/s | p50 ms |');
    console.log('| ---: | ---: | ---: |');
    for (const [n, rate, p50] of throughput) console.log(`| ${n} | ${rate.toFixed(0)} | ${fmt(p50)} |`);
    console.log('\nCold start through pod creation (first invoke of a fresh function, end to end)');
    console.log('| samples | p50 ms | min ms | max ms |');
    console.log('| ---: | ---: | ---: | ---: |');
    console.log(
      `| ${cold.length} | ${fmt(percentile(cold, 50))} | ${fmt(Math.min(...cold))} | ${fmt(Math.max(...cold))} |`,
    );
  } finally {
    echo.close();
    await gateway.stop();
    standIn.close();
    await ns.dispose();
    await dispatcher.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
