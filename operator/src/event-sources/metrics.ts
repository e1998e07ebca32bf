// Per-mapping metrics of the pollers, named after Lambda's event source mapping metrics in
// CloudWatch (PolledEventCount, FilteredOutEventCount, InvokedEventCount,
// FailedInvokeEventCount, DroppedEventCount, OnFailureDestinationDeliveredEventCount, OffsetLag),
// on the operator's registry, labelled by namespace, mapping, function and source kind.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

const LABELS = ['namespace', 'mapping', 'function', 'source'] as const;
export type MappingLabels = Record<(typeof LABELS)[number], string>;

/** What one mapping's poller reports. */
export interface PollerMetrics {
  /** Records read from the source. */
  polled(count: number): void;
  /** Records the filter criteria dropped (acknowledged, never invoked). */
  filteredOut(count: number): void;
  /** One invocation with `count` records: whether the function succeeded, and how long it took. */
  invoked(count: number, ok: boolean, seconds: number): void;
  /** Records given up on (retries exhausted or too old), and whether a destination got them. */
  dropped(count: number, delivered: boolean): void;
  /** Records waiting in the source, as the session last measured them (SourceSession.lag). */
  lag(records: number): void;
}

export const noPollerMetrics: PollerMetrics = {
  polled: () => undefined,
  filteredOut: () => undefined,
  invoked: () => undefined,
  dropped: () => undefined,
  lag: () => undefined,
};

export class EventSourceMetrics {
  private readonly polledRecords: Counter<(typeof LABELS)[number]>;
  private readonly filteredRecords: Counter<(typeof LABELS)[number]>;
  private readonly invokedRecords: Counter<(typeof LABELS)[number]>;
  private readonly failedInvokeRecords: Counter<(typeof LABELS)[number]>;
  private readonly droppedRecords: Counter<(typeof LABELS)[number]>;
  private readonly deliveredRecords: Counter<(typeof LABELS)[number]>;
  private readonly invokeDuration: Histogram<(typeof LABELS)[number]>;
  private readonly offsetLag: Gauge<(typeof LABELS)[number]>;

  /** The metrics on `registry` (registered once; a later leadership term reuses them). */
  constructor(registry: Registry) {
    const counter = (name: string, help: string) =>
      (registry.getSingleMetric(name) as Counter<(typeof LABELS)[number]> | undefined) ??
      new Counter({ name, help, labelNames: LABELS, registers: [registry] });
    this.polledRecords = counter('lamina_event_source_polled_records_total', 'Records read from the source.');
    this.filteredRecords = counter(
      'lamina_event_source_filtered_out_records_total',
      'Records the filter criteria dropped.',
    );
    this.invokedRecords = counter(
      'lamina_event_source_invoked_records_total',
      'Records sent to the function, retries included.',
    );
    this.failedInvokeRecords = counter(
      'lamina_event_source_failed_invoke_records_total',
      'Records sent in invocations that did not succeed (function error, throttle, system error).',
    );
    this.droppedRecords = counter(
      'lamina_event_source_dropped_records_total',
      'Records given up on: retries exhausted or older than MaximumRecordAgeInSeconds.',
    );
    this.deliveredRecords = counter(
      'lamina_event_source_on_failure_delivered_records_total',
      'Dropped records delivered to the on-failure destination.',
    );
    const durationName = 'lamina_event_source_invoke_duration_seconds';
    this.invokeDuration =
      (registry.getSingleMetric(durationName) as Histogram<(typeof LABELS)[number]> | undefined) ??
      new Histogram({
        name: durationName,
        help: 'Time of one batch invocation through the gateway.',
        labelNames: LABELS,
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
        registers: [registry],
      });
    const lagName = 'lamina_event_source_offset_lag';
    this.offsetLag =
      (registry.getSingleMetric(lagName) as Gauge<(typeof LABELS)[number]> | undefined) ??
      new Gauge({
        name: lagName,
        help:
          'Records in the source the mapping has not processed: Kafka, the sum over partitions of the latest ' +
          "offset minus the group's committed offset; SQS, ApproximateNumberOfMessages; NATS JetStream, the " +
          "consumer's pending count.",
        labelNames: LABELS,
        registers: [registry],
      });
  }

  /** The reporter of one mapping. */
  forMapping(labels: MappingLabels): PollerMetrics {
    return {
      polled: (count) => this.polledRecords.inc(labels, count),
      filteredOut: (count) => this.filteredRecords.inc(labels, count),
      invoked: (count, ok, seconds) => {
        this.invokedRecords.inc(labels, count);
        if (!ok) this.failedInvokeRecords.inc(labels, count);
        this.invokeDuration.observe(labels, seconds);
      },
      dropped: (count, delivered) => {
        this.droppedRecords.inc(labels, count);
        if (delivered) this.deliveredRecords.inc(labels, count);
      },
      lag: (records) => this.offsetLag.set(labels, records),
    };
  }

  /** Forgets a mapping's series (deleted, or its function or source changed). */
  forget(labels: MappingLabels): void {
    for (const metric of [
      this.polledRecords,
      this.filteredRecords,
      this.invokedRecords,
      this.failedInvokeRecords,
      this.droppedRecords,
      this.deliveredRecords,
      this.invokeDuration,
      this.offsetLag,
    ])
      metric.remove(labels);
  }
}
