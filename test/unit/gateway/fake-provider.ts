// An EnvironmentProvider without Kubernetes: environments are records that become ready when
// the test says so (or at once), optionally backed by an in-process fake agent.
import {
  environmentRecord,
  type EnvironmentEvent,
  type EnvironmentProvider,
  type EnvironmentRecord,
  type EnvironmentSpec,
} from '../../../operator/src/gateway/environments/types.js';

export class FakeProvider implements EnvironmentProvider {
  readonly records = new Map<string, EnvironmentRecord>();
  readonly specs = new Map<string, EnvironmentSpec>();
  readonly created: string[] = [];
  readonly destroyed: string[] = [];
  /** Keys of the specs the pool asked to prepare, in order. */
  readonly prepared: string[] = [];
  private readonly listeners = new Set<(event: EnvironmentEvent) => void>();
  /** How a new environment gets its address; by default a dummy one. */
  addressFor: (spec: EnvironmentSpec, id: string) => Promise<string> | string = (_s, id) =>
    `http://fake/${id}`;
  autoReady = true;
  failCreate = false;

  constructor(existing: EnvironmentRecord[] = []) {
    for (const r of existing) this.records.set(r.id, r);
  }

  async start() {}
  stop() {}

  async create(spec: EnvironmentSpec, id: string): Promise<EnvironmentRecord> {
    if (this.failCreate) throw new Error('create failed');
    const record = environmentRecord(spec, id);
    this.records.set(id, record);
    this.specs.set(id, spec);
    this.created.push(id);
    if (this.autoReady) {
      const address = await this.addressFor(spec, id);
      queueMicrotask(() => this.markReady(id, address));
    }
    return record;
  }

  markReady(id: string, address = `http://fake/${id}`) {
    const r = this.records.get(id);
    if (!r) return;
    const next = { ...r, ready: true, address };
    this.records.set(id, next);
    this.emit({ type: 'upsert', env: next });
  }

  fail(id: string, failure: string) {
    const r = this.records.get(id);
    if (!r) return;
    const next = { ...r, failure };
    this.records.set(id, next);
    this.emit({ type: 'upsert', env: next });
  }

  /** The scheduler finds no node for it (PodScheduled False, Unschedulable). */
  unschedulable(id: string, message = '0/1 nodes are available: 1 Insufficient cpu.') {
    const r = this.records.get(id);
    if (!r) return;
    const next = { ...r, unschedulable: message };
    this.records.set(id, next);
    this.emit({ type: 'upsert', env: next });
  }

  /** The pod disappears (killed, evicted). */
  vanish(id: string) {
    this.records.delete(id);
    this.emit({ type: 'delete', id });
  }

  async destroy(id: string) {
    this.destroyed.push(id);
    if (this.records.delete(id)) queueMicrotask(() => this.emit({ type: 'delete', id, removed: true }));
  }

  list() {
    return [...this.records.values()];
  }

  prepare(spec: EnvironmentSpec): void {
    this.prepared.push(spec.key);
  }

  subscribe(listener: (event: EnvironmentEvent) => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: EnvironmentEvent) {
    for (const l of this.listeners) l(event);
  }
}

export const tick = () => new Promise((resolve) => setImmediate(resolve));
