// Small helpers shared by the benchmarks: timing, percentiles, machine conditions.
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';

export const dispatcher = new Agent({ keepAliveTimeout: 60_000, connections: 256 });

export async function post(url: string, body: Buffer, headers: Record<string, string> = {}) {
  const res = await request(url, { method: 'POST', body, headers, dispatcher });
  const text = await res.body.text();
  return { status: res.statusCode, text, headers: res.headers };
}

/** ms of one call that must answer 200. */
export async function timed(fn: () => Promise<{ status: number; text: string }>): Promise<number> {
  const start = performance.now();
  const res = await fn();
  if (res.status !== 200) throw new Error(`unexpected status ${res.status}: ${res.text.slice(0, 300)}`);
  return performance.now() - start;
}

export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

export async function sequential(
  n: number,
  warmup: number,
  fn: () => Promise<{ status: number; text: string }>,
) {
  for (let i = 0; i < warmup; i++) await timed(fn);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) samples.push(await timed(fn));
  return samples;
}

/** `inFlight` callers in a loop for `seconds`: invokes per second and latencies. */
export async function closedLoop(
  inFlight: number,
  seconds: number,
  /** Called by worker `worker` (0 … inFlight−1) for each of its requests. */
  fn: (worker: number) => Promise<{ status: number; text: string }>,
) {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const samples: number[] = [];
  let errors = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async (_, worker) => {
      while (performance.now() < deadline) {
        try {
          samples.push(await timed(() => fn(worker)));
        } catch {
          errors += 1;
        }
      }
    }),
  );
  return { perSecond: samples.length / ((performance.now() - started) / 1000), samples, errors };
}

export function machine(): string {
  const [l1, l5, l15] = loadavg().map((l) => l.toFixed(2));
  const cpu = cpus();
  return `${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown'}), load average ${l1} / ${l5} / ${l15}, node ${process.version}`;
}

export const fmt = (ms: number) => (Number.isFinite(ms) ? ms.toFixed(ms < 10 ? 2 : 0) : 'n/a');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
