// Java cold starts on the installed release (`npm run bench:java`): the first invoke of a
// java21 hello-world (examples/java-hello's RequestHandler, 128 MB) taken from the warm pool,
// and through pod creation (the same function with a 1 GB /tmp, which no pool shape has).
// Needs lamina/runtime-java21 built (LAMINA_RUNTIME_IMAGES=runtime-java21 npm run up), Maven
// and a JDK. Sizes: BENCH_JAVA_SAMPLES (5 per path). Prints a table; changes no release value.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CoreV1Api, CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import { waitFor } from '../harness/gateway-kube.js';
import { repoRoot } from '../harness/manifests.js';
import { installedRelease, invokeUrl, testNamespace, waitActive } from '../harness/release.js';
import { fmt, machine, percentile, post, sleep, timed } from './lib.js';

const run = promisify(execFile);
const SAMPLES = Number(process.env.BENCH_JAVA_SAMPLES ?? 5);
const PAYLOAD = Buffer.from(
  JSON.stringify({ version: '2.0', rawPath: '/', requestContext: { http: { method: 'GET', path: '/' } } }),
);

async function main(): Promise<void> {
  const release = await installedRelease();
  const ns = await testNamespace(release, 'bench-java');
  const core = release.kc.makeApiClient(CoreV1Api);
  const objects = release.kc.makeApiClient(CustomObjectsApi);
  const before = machine();
  try {
    // The example's zip, in the store, under the digest function.yaml would get.
    const { stderr } = await run('bash', ['examples/java-hello/build.sh'], {
      cwd: repoRoot,
      env: { ...process.env, NAMESPACE: ns.name },
      maxBuffer: 16 << 20,
    });
    const sha256 = /sha256 ([0-9a-f]{64})/.exec(stderr)?.[1];
    if (!sha256) throw new Error(`build.sh printed no digest:\n${stderr}`);
    const create = async (name: string, ephemeralStorage: number) => {
      await objects.createNamespacedCustomObject({
        group: 'lamina.dev',
        version: 'v1alpha1',
        namespace: ns.name,
        plural: 'functions',
        body: {
          apiVersion: 'lamina.dev/v1alpha1',
          kind: 'Function',
          metadata: { name },
          spec: {
            runtime: 'java21',
            handler: 'example.Hello::handleRequest',
            memorySize: 128,
            timeout: 30,
            ephemeralStorage: { size: ephemeralStorage },
            code: { sha256 },
          },
        },
      });
      await waitActive(release, ns.name, name);
    };
    const live = async (selector: string) =>
      (await core.listNamespacedPod({ namespace: ns.name, labelSelector: selector })).items.filter(
        (p: V1Pod) => !p.metadata?.deletionTimestamp,
      );
    const ready = (p: V1Pod) =>
      (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
    const samples: Record<'pool' | 'create', number[]> = { pool: [], create: [] };
    for (let i = 0; i < SAMPLES; i++) {
      for (const path of ['pool', 'create'] as const) {
        const name = `${path}-${i}`;
        await create(name, path === 'pool' ? 512 : 1024);
        if (path === 'pool')
          await waitFor(
            'a ready java21 pool pod',
            async () => ((await live('lamina.dev/pool=true')).filter(ready).length > 0 ? true : undefined),
            180_000,
            100,
          );
        await sleep(500);
        samples[path].push(await timed(() => post(invokeUrl(release, ns.name, name), PAYLOAD)));
        const pods = await live(`lamina.dev/function=${name}`);
        if (path === 'pool' && pods[0]?.metadata?.labels?.['lamina.dev/from-pool'] !== 'true')
          throw new Error(`${name} did not start from the pool`);
      }
    }
    const row = (label: string, s: number[]) =>
      `| ${label} | ${fmt(percentile(s, 50))} | ${fmt(Math.max(...s))} | ${s.length} |`;
    console.log(
      [
        `Java 21 cold start (first invoke of a 128 MB RequestHandler, client → gateway → answer); ${before}`,
        '',
        '| path | p50 ms | max ms | samples |',
        '| --- | --- | --- | --- |',
        row('warm pool (java21 image, JVM started at specialisation)', samples.pool),
        row('pod creation', samples.create),
      ].join('\n'),
    );
  } finally {
    await ns.dispose();
  }
}

await main();
