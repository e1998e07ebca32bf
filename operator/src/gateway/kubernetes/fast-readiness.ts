// Cold starts should not wait for the kubelet's next readiness probe (periods are whole
// seconds): once a starting environment pod has an IP, the gateway asks the agent's
// /healthz itself every few milliseconds and treats the first 200 as ready. The kubelet's
// probe still runs and later agrees; a pod that dies fails through its phase as before.
import { AGENT_PATHS } from '../../protocol/index.js';
import type { Logger } from '../../shared/index.js';

export class FastReadiness {
  private readonly ready = new Set<string>();
  private readonly probing = new Map<string, AbortController>();

  constructor(
    private readonly onReady: (id: string) => void,
    private readonly log: Logger,
    private readonly intervalMs = 25,
    private readonly giveUpMs = 120_000,
  ) {}

  isReady(id: string): boolean {
    return this.ready.has(id);
  }

  /** Starts probing an environment that has an address but is not ready yet. */
  observe(id: string, address: string | undefined, kubeletReady: boolean, failed: boolean): void {
    if (!address || kubeletReady || failed || this.ready.has(id) || this.probing.has(id)) return;
    const controller = new AbortController();
    this.probing.set(id, controller);
    void this.probe(id, address, controller.signal).finally(() => this.probing.delete(id));
  }

  forget(id: string): void {
    this.ready.delete(id);
    this.probing.get(id)?.abort();
  }

  stop(): void {
    for (const controller of this.probing.values()) controller.abort();
  }

  private async probe(id: string, address: string, signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + this.giveUpMs;
    while (!signal.aborted && Date.now() < deadline) {
      try {
        const res = await fetch(`${address}${AGENT_PATHS.health}`, {
          signal: AbortSignal.any([signal, AbortSignal.timeout(1000)]),
        });
        await res.arrayBuffer();
        if (res.ok) {
          this.ready.add(id);
          this.onReady(id);
          return;
        }
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, this.intervalMs));
    }
    if (!signal.aborted) this.log.debug('agent readiness probe gave up', { id });
  }
}
