// Hostile handlers on the real single-node cluster, through the installed release: a handler that never returns, one that
// allocates past its memory, one that starts hundreds of processes, one that floods its log,
// one that fills /tmp past its ephemeral storage. Each gets a clear error, the gateway keeps
// serving, a neighbouring function's invoke latency is measured during each attack (printed,
// not asserted: this is a shared 2-core machine), and nothing leaks between functions.
// Every attack is bounded (sizes, counts, timeouts).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import {
  createFunction,
  installedRelease,
  invokeUrl,
  testNamespace,
  type Release,
} from '../harness/release.js';

const CODE = {
  neighbour: `import { readdirSync } from 'node:fs';
export const handler = async () => ({ tmp: readdirSync('/tmp'), secret: process.env.PLANTED ?? null });`,
  // A timer keeps the event loop alive: with an empty loop Node's runtime returns null, as
  // Lambda's does, instead of waiting for the timeout.
  hang: `export const handler = () => { setInterval(() => {}, 1000); return new Promise(() => {}); };`,
  oom: `let invocations = 0;
export const handler = async (event) => {
  invocations += 1;
  if (event.calm) return { invocations };
  const hold = [];
  for (let i = 0; i < 64; i++) hold.push(Buffer.alloc(16 << 20, i)); // up to 1 GB, past 128 MB
  return hold.length;
};`,
  forkstorm: `import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
export const handler = async (event) => {
  writeFileSync('/tmp/planted', 'private to forkstorm');
  if (event.calm) return 'calm';
  let started = 0, failed = 0;
  for (let i = 0; i < 300; i++) {
    try { const c = spawn('/bin/sh', ['-c', 'sleep 4']); c.on('error', () => failed++); started++; } catch { failed++; }
  }
  await new Promise((r) => setTimeout(r, 500));
  return { started, failed };
};`,
  // Threads count against the environment's process limit (Lambda: 1,024 processes/threads)
  // without the memory of processes, so this one reaches the limit itself.
  threadstorm: `import threading


def handler(event, context):
    if event.get("calm"):
        return "calm"
    stop = threading.Event()
    started = failed = 0
    for _ in range(1500):
        try:
            threading.Thread(target=stop.wait, args=(10,), daemon=True).start()
            started += 1
        except RuntimeError:
            failed += 1
    stop.set()
    return {"started": started, "failed": failed}
`,
  chatty: `export const handler = async () => {
  const line = 'x'.repeat(99);
  for (let i = 0; i < 200000; i++) console.log(line); // ~20 MB of log
  return 'done';
};`,
  tmpfill: `import { openSync, writeSync, closeSync } from 'node:fs';
export const handler = async () => {
  const fd = openSync('/tmp/fill', 'w');
  const chunk = Buffer.alloc(8 << 20, 1);
  for (let i = 0; i < 72; i++) writeSync(fd, chunk); // 576 MB into a 512 MB /tmp
  closeSync(fd);
  // The kubelet measures emptyDir usage every volumeStatsAggPeriod (10-20 s on the local
  // cluster, jittered) and evicts at its next 10 s check.
  await new Promise((r) => setTimeout(r, 90000));
  return 'not evicted';
};`,
};

// The local cluster's kubelet podPidsLimit (scripts/cluster/up.sh), Lambda's per-environment limit.
const POD_PIDS_LIMIT = 1024;

/** The pod's pids cgroup on this node (cgroupfs or systemd naming). */
function podPidsCgroup(uid: string): string {
  const names = [`pod${uid}`, `pod${uid.replaceAll('-', '_')}.slice`];
  const search = (dir: string, depth: number): string | undefined => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const path = join(dir, entry.name);
      if (names.some((n) => entry.name.endsWith(n))) return path;
      const found = depth > 0 ? search(path, depth - 1) : undefined;
      if (found) return found;
    }
    return undefined;
  };
  const found = search('/sys/fs/cgroup/pids', 8);
  assert.ok(found, `no pids cgroup for pod ${uid}`);
  return found;
}

/** Threads on this node (every task counts against the kernel's threads-max). */
function nodeThreads(): number {
  let total = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      total += readdirSync(`/proc/${pid}/task`).length;
    } catch {
      // exited while counting
    }
  }
  return total;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

describe('hostile handlers on the local cluster', { timeout: 900_000 }, () => {
  let release: Release;
  let ns: Awaited<ReturnType<typeof testNamespace>>;
  let core: CoreV1Api;
  const figures: string[] = [];

  const invoke = async (name: string, payload: unknown = {}) => {
    const res = await fetch(invokeUrl(release, ns.name, name), {
      method: 'POST',
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(120_000),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, functionError: res.headers.get('x-amz-function-error'), body };
  };

  /** Invokes `name`, timing the neighbour's invokes back to back until the attack returns. */
  async function underAttack(name: string) {
    const latencies: number[] = [];
    let failures = 0;
    let done = false;
    const neighbour = (async () => {
      while (!done) {
        const start = performance.now();
        const res = await invoke('neighbour').catch(() => undefined);
        if (res?.status === 200 && !res.functionError) latencies.push(performance.now() - start);
        else failures += 1;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const started = performance.now();
    const result = await invoke(name).finally(() => (done = true));
    await neighbour;
    const sorted = [...latencies].sort((a, b) => a - b);
    const line =
      `${name.padEnd(10)} ${(performance.now() - started).toFixed(0).padStart(6)} ms  ` +
      `neighbour n=${sorted.length} p50=${percentile(sorted, 50).toFixed(1)} ms ` +
      `p99=${percentile(sorted, 99).toFixed(1)} ms max=${(sorted.at(-1) ?? NaN).toFixed(1)} ms failures=${failures}`;
    figures.push(line);
    console.log(line);
    return { result, failures, count: sorted.length };
  }

  before(async () => {
    release = await installedRelease();
    ns = await testNamespace(release, 'hostile');
    core = release.kc.makeApiClient(CoreV1Api);
    await createFunction(release, ns.name, 'neighbour', CODE.neighbour);
    await createFunction(release, ns.name, 'hang', CODE.hang, { timeout: 3 });
    await createFunction(release, ns.name, 'oom', CODE.oom, { memorySize: 128 });
    await createFunction(release, ns.name, 'forkstorm', CODE.forkstorm, {
      timeout: 10,
      environment: { variables: { PLANTED: 'forkstorm-only' } },
    });
    await createFunction(
      release,
      ns.name,
      'threadstorm',
      { 'app.py': CODE.threadstorm },
      {
        runtime: 'python3.13',
        handler: 'app.handler',
        timeout: 30,
      },
    );
    await createFunction(release, ns.name, 'chatty', CODE.chatty, { timeout: 60 });
    await createFunction(release, ns.name, 'tmpfill', CODE.tmpfill, {
      timeout: 90,
      ephemeralStorage: { size: 512 },
    });
    // Warm the neighbour so its figures are warm-invoke latency.
    const warm = await invoke('neighbour');
    assert.equal(warm.status, 200, JSON.stringify(warm.body));
    const idle: number[] = [];
    for (let i = 0; i < 20; i++) {
      const start = performance.now();
      await invoke('neighbour');
      idle.push(performance.now() - start);
    }
    idle.sort((a, b) => a - b);
    const line = `baseline   neighbour n=20 p50=${percentile(idle, 50).toFixed(1)} ms p99=${percentile(idle, 99).toFixed(1)} ms`;
    figures.push(line);
    console.log(line);
  });

  after(async () => {
    console.log(`\nneighbour latency under attack (warm invokes, sequential):\n${figures.join('\n')}`);
    await ns?.dispose();
  });

  it('a handler that never returns times out with a clear error', async () => {
    const { result } = await underAttack('hang');
    console.log(`hang: status=${result.status} error=${result.functionError} ${JSON.stringify(result.body)}`);
    assert.equal(result.status, 200);
    assert.equal(result.functionError, 'Unhandled');
    assert.match(JSON.stringify(result.body), /timed out after 3(\.00)? seconds/i);
  });

  it('allocating past memorySize is Runtime.OutOfMemory every time, each in a fresh runtime', async () => {
    for (let round = 1; round <= 3; round++) {
      const { result } = round === 1 ? await underAttack('oom') : { result: await invoke('oom') };
      assert.equal(result.status, 200, JSON.stringify(result.body));
      assert.equal(result.functionError, 'Unhandled', `round ${round}`);
      assert.match(JSON.stringify(result.body), /Runtime\.OutOfMemory/, `round ${round}`);
      // The killed runtime is replaced: the next invoke is the first of a fresh one.
      const calm = await invoke('oom', { calm: true });
      assert.equal(calm.status, 200);
      assert.deepEqual(calm.body, { invocations: 1 }, `round ${round}: a fresh runtime after the OOM`);
    }
  });

  it('a thread storm stops at the environment process limit; the node and the neighbour are unaffected', async () => {
    const warm = await invoke('threadstorm', { calm: true });
    assert.equal(warm.body, 'calm', JSON.stringify(warm.body));
    const [pod] = (
      await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'lamina.dev/function=threadstorm' })
    ).items.filter((p) => !p.metadata?.deletionTimestamp);
    const cgroup = podPidsCgroup(pod!.metadata!.uid!);
    assert.equal(readFileSync(join(cgroup, 'pids.max'), 'utf8').trim(), String(POD_PIDS_LIMIT));
    const nodeLimit = Number(readFileSync('/proc/sys/kernel/threads-max', 'utf8'));
    let podPeak = 0;
    let nodePeak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        podPeak = Math.max(podPeak, Number(readFileSync(join(cgroup, 'pids.current'), 'utf8')));
        nodePeak = Math.max(nodePeak, nodeThreads());
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const { result, failures } = await underAttack('threadstorm').finally(() => (sampling = false));
    await sampler;
    console.log(
      `threadstorm: ${JSON.stringify(result.body)}; pod peak ${podPeak} of ${POD_PIDS_LIMIT} pids, node peak ${nodePeak} threads of ${nodeLimit}`,
    );
    assert.equal(result.status, 200, JSON.stringify(result.body));
    const { started, failed } = result.body as { started: number; failed: number };
    assert.ok(failed > 0, 'the process limit refused threads');
    assert.ok(started < POD_PIDS_LIMIT, `${started} threads started`);
    assert.ok(podPeak <= POD_PIDS_LIMIT, `the pod reached ${podPeak} pids`);
    assert.ok(nodePeak < nodeLimit, 'the node stays below its own limit');
    assert.equal(failures, 0, "the neighbour's invokes all succeeded during the storm");
    assert.equal((await invoke('threadstorm', { calm: true })).body, 'calm', 'the function serves again');
  });

  it('hundreds of processes stay inside the pod; nothing leaks to the neighbour', async () => {
    const { result, failures } = await underAttack('forkstorm');
    assert.equal(failures, 0, "the neighbour's invokes all succeeded during the attack");
    console.log(
      `forkstorm: status=${result.status} error=${result.functionError} ${JSON.stringify(result.body)}`,
    );
    // 300 shells in 128 MB: either they all fit, or the agent's sampling (Runtime.OutOfMemory)
    // or the kernel's OOM killer ends the environment. Each must leave a clear error and a
    // function that still works.
    if (result.status !== 200 || result.functionError) {
      assert.match(JSON.stringify(result.body), /Runtime\.|ServiceException/);
    }
    const again = await invoke('forkstorm', { calm: true });
    console.log(`forkstorm again: status=${again.status} ${JSON.stringify(again.body)}`);
    assert.equal(again.body, 'calm', 'a fresh environment serves the next invoke');
    const seen = await invoke('neighbour');
    assert.deepEqual(
      seen.body,
      { tmp: [], secret: null },
      "the neighbour sees none of forkstorm's /tmp or env",
    );
  });

  it('a flood of log output completes and the gateway keeps serving', async () => {
    const { result } = await underAttack('chatty');
    assert.equal(result.status, 200, JSON.stringify(result.body).slice(0, 300));
    assert.equal(result.body, 'done');
  });

  it('filling /tmp past its ephemeral storage gets the environment evicted with an error', async () => {
    const { result } = await underAttack('tmpfill');
    console.log(
      `tmpfill: status=${result.status} error=${result.functionError} ${JSON.stringify(result.body).slice(0, 200)}`,
    );
    const pods = await core.listNamespacedPod({
      namespace: ns.name,
      labelSelector: 'lamina.dev/function=tmpfill',
    });
    const reasons = pods.items.map((p) => `${p.status?.phase}/${p.status?.reason ?? ''}`);
    console.log(`tmpfill pods: ${reasons.join(', ')}`);
    const events = await core.listNamespacedEvent({ namespace: ns.name });
    for (const e of events.items.filter((e) =>
      /Evict|ephemeral|OOM|Kill/i.test(`${e.reason} ${e.message}`),
    )) {
      console.log(`event: ${e.involvedObject.name} ${e.reason}: ${e.message}`);
    }
    assert.notEqual(result.body, 'not evicted', 'the kubelet should evict a pod past its /tmp sizeLimit');
    assert.ok(result.functionError || result.status >= 500, 'the caller gets an error');
  });

  it('the gateway and the neighbour still answer after every attack', async () => {
    const health = await fetch(`${release.gatewayUrl}/healthz`);
    assert.equal(health.status, 200);
    const res = await invoke('neighbour');
    assert.equal(res.status, 200);
  });
});
