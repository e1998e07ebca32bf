// Runs one poller (or schedule) per mapping that is Enabled and Ready at its current
// generation, and stops it when the mapping is disabled, changed, not Ready or deleted. It
// lives under the operator's leader Lease: only the leader polls, so two replicas never
// process the same records at once; a new leader resumes from the sources' committed
// positions (and the schedules' status.lastTick).
import { type EventSourceMapping, type LaminaFunction, SOURCE_KINDS, type SourceKind } from '../api/index.js';
import type { ReadCache, ResourceClient } from '../kube/index.js';
import { apiMessage } from '../kube/index.js';
import type { Clock, Logger } from '../shared/index.js';
import type { FunctionInvoker } from './invoke-client.js';
import type { EventSourceMetrics, MappingLabels } from './metrics.js';
import { MappingPoller } from './poller.js';
import { ScheduleRunner } from './schedule.js';
import type { SourceAdapter, SourceSession } from './source.js';

export interface SupervisorOptions {
  mappings: ReadCache<EventSourceMapping> & {
    on(handler: (event: string, object: EventSourceMapping) => void): void;
  };
  functions: ReadCache<LaminaFunction>;
  client: Pick<ResourceClient<EventSourceMapping>, 'get' | 'patchStatus'>;
  invoker: FunctionInvoker;
  sources: Partial<Record<Exclude<SourceKind, 'schedule'>, SourceAdapter>>;
  /** Sends an on-failure record: `function:<name>[:q]` (async invoke) or an http(s) URL. */
  deliverFailure(namespace: string, destination: string, record: Record<string, unknown>): Promise<void>;
  clock: Clock;
  log: Logger;
  region: string;
  /** Per-mapping record counts (none: not measured). */
  metrics?: EventSourceMetrics;
  /** How often each poller measures its source's lag (default: the poller's). */
  lagIntervalMs?: number;
}

interface Running {
  uid: string;
  generation: number;
  labels: MappingLabels;
  stop(): Promise<void>;
}

/** A mapping's metric labels. */
function metricLabels(mapping: EventSourceMapping): MappingLabels {
  return {
    namespace: mapping.metadata.namespace ?? 'default',
    mapping: mapping.metadata.name,
    function: mapping.spec.functionName,
    source: SOURCE_KINDS.find((k) => mapping.spec.source[k] !== undefined) ?? '',
  };
}

const keyOf = (m: EventSourceMapping) => `${m.metadata.namespace ?? 'default'}/${m.metadata.name}`;

export class EventSourceSupervisor {
  private readonly running = new Map<string, Running>();
  private readonly transitions = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(private readonly o: SupervisorOptions) {}

  start(): void {
    this.o.mappings.on((_event, m) => this.sync(keyOf(m)));
    for (const m of this.o.mappings.list()) this.sync(keyOf(m));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.transitions.values()]);
    await Promise.all([...this.running.values()].map((r) => r.stop()));
    this.running.clear();
  }

  /** Number of mappings being polled (tests, metrics). */
  get size(): number {
    return this.running.size;
  }

  private sync(key: string): void {
    const previous = this.transitions.get(key) ?? Promise.resolve();
    const next = previous
      .then(() => this.apply(key))
      .catch((err: unknown) =>
        this.o.log.warn('event source mapping could not start', { mapping: key, error: apiMessage(err) }),
      );
    this.transitions.set(key, next);
  }

  private async apply(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const mapping = this.o.mappings.get(namespace, name);
    const current = this.running.get(key);
    const wanted = !this.stopped && mapping !== undefined && shouldRun(mapping);
    if (
      current &&
      (!wanted || current.uid !== mapping?.metadata.uid || current.generation !== mapping.metadata.generation)
    ) {
      this.running.delete(key);
      await current.stop();
      this.o.log.info('event source mapping stopped', { mapping: key });
      // Deleted, or its function or source changed: the old series go.
      if (!mapping || JSON.stringify(metricLabels(mapping)) !== JSON.stringify(current.labels))
        this.o.metrics?.forget(current.labels);
    }
    if (!wanted || !mapping || this.running.has(key)) return;
    const stop = await this.launch(mapping);
    this.running.set(key, {
      uid: mapping.metadata.uid ?? '',
      generation: mapping.metadata.generation ?? 0,
      labels: metricLabels(mapping),
      stop,
    });
    this.o.log.info('event source mapping started', { mapping: key, function: mapping.spec.functionName });
  }

  private async launch(mapping: EventSourceMapping): Promise<() => Promise<void>> {
    const namespace = mapping.metadata.namespace ?? 'default';
    const name = mapping.metadata.name;
    const log = this.o.log.child({ mapping: `${namespace}/${name}` });
    const report = async (result: string) => {
      await this.o.client
        .patchStatus(namespace, name, { lastProcessingResult: result })
        .catch((err: unknown) =>
          log.warn('could not report the processing result', { error: apiMessage(err) }),
        );
    };
    if (mapping.spec.source.schedule) {
      const runner = new ScheduleRunner({
        mapping,
        invoker: this.o.invoker,
        clock: this.o.clock,
        log,
        region: this.o.region,
        store: {
          get: () => this.o.client.get(namespace, name),
          claim: async (tick, resourceVersion) => {
            await this.o.client.patchStatus(namespace, name, { lastTick: tick }, resourceVersion);
          },
          report,
        },
      });
      runner.start();
      return () => runner.stop();
    }
    const kind = (['kafka', 'sqs', 'nats'] as const).find((k) => mapping.spec.source[k] !== undefined);
    const adapter = kind && this.o.sources[kind];
    if (!adapter) {
      await report(`PROBLEM: this Lamina has no ${kind ?? 'such'} source`);
      return async () => undefined;
    }
    const fnName = mapping.spec.functionName.split(':')[0] ?? '';
    const timeoutSeconds = this.o.functions.get(namespace, fnName)?.spec.timeout ?? 900;
    const heartbeatMs = (timeoutSeconds + 30) * 1000;
    const session: SourceSession = await adapter.open(mapping, {
      clock: this.o.clock,
      log,
      heartbeatMs,
      secret: async () => undefined,
    });
    const poller = new MappingPoller({
      mapping,
      session,
      invoker: this.o.invoker,
      clock: this.o.clock,
      log,
      region: this.o.region,
      heartbeatMs,
      deliverFailure: (destination, record) => this.o.deliverFailure(namespace, destination, record),
      report: (result) => void report(result),
      ...(this.o.metrics && { metrics: this.o.metrics.forMapping(metricLabels(mapping)) }),
      ...(this.o.lagIntervalMs !== undefined && { lagIntervalMs: this.o.lagIntervalMs }),
    });
    poller.start();
    return async () => {
      await poller.stop();
      await session.close();
    };
  }
}

/** Enabled, and Ready at the current generation (the reconciler checked the function). */
export function shouldRun(mapping: EventSourceMapping): boolean {
  if (mapping.metadata.deletionTimestamp || mapping.spec.enabled === false) return false;
  const status = mapping.status;
  if (!status || status.observedGeneration !== mapping.metadata.generation) return false;
  return (
    status.state === 'Enabled' &&
    status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true
  );
}
