// What a test on the machine that runs the local cluster can see directly: the host processes
// of containers (they are ordinary processes here), and overlap of the intervals handlers report.
import { readdirSync, readFileSync } from 'node:fs';

/** The highest number of intervals open at the same instant. */
export function maxOverlap(intervals: Array<{ start: number; end: number }>): number {
  const points = intervals.flatMap((i) => [
    { t: i.start, d: 1 },
    { t: i.end, d: -1 },
  ]);
  points.sort((a, b) => a.t - b.t || a.d - b.d);
  let open = 0;
  let max = 0;
  for (const p of points) max = Math.max(max, (open += p.d));
  return max;
}

/** The host process of a pod's gateway container, found by the pod name in its environment. */
export function gatewayProcess(podName: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('main-gateway.mjs')) continue;
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`HOSTNAME=${podName}`)) {
        return Number(entry);
      }
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  throw new Error(`no gateway process of pod ${podName} on this machine`);
}
