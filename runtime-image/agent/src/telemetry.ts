// The Telemetry API (`PUT /2022-07-01/telemetry`) and the older Logs API (`PUT
// /2020-08-15/logs`), the pure half: what a subscription may say (Lambda's bounds and
// defaults), the records Lambda sends (platform.*, function, extension), how a subscriber's
// buffer decides to flush, and how a Logs API subscriber sees the same events. Delivery over
// HTTP is telemetry-hub.ts.
import { z } from 'zod';

export type TelemetryCategory = 'platform' | 'function' | 'extension';
export type TelemetryFlavour = 'telemetry' | 'logs';

/** One event as Lambda posts it: `{time, type, record}`. */
export interface TelemetryEvent {
  time: string;
  type: string;
  record: unknown;
}

export interface Buffering {
  maxItems: number;
  maxBytes: number;
  timeoutMs: number;
}

/** Lambda's bounds and defaults for `buffering` (the Telemetry API and the Logs API share them). */
export const BUFFERING_BOUNDS = {
  telemetry: {
    maxItems: { min: 1000, max: 10_000, default: 1000 },
    maxBytes: { min: 262_144, max: 1_048_576, default: 262_144 },
    timeoutMs: { min: 25, max: 30_000, default: 1000 },
  },
  logs: {
    maxItems: { min: 1000, max: 10_000, default: 10_000 },
    maxBytes: { min: 262_144, max: 1_048_576, default: 262_144 },
    timeoutMs: { min: 25, max: 30_000, default: 1000 },
  },
} as const;

export const TELEMETRY_SCHEMA_VERSIONS = ['2022-07-01', '2022-12-13', '2025-01-29'] as const;
export const LOGS_SCHEMA_VERSIONS = ['2020-08-15', '2021-03-18'] as const;

/** The host names a destination may use; all of them mean this sandbox's loopback. */
export const SANDBOX_HOSTS = ['sandbox.localdomain', 'sandbox', 'localhost', '127.0.0.1'];

export interface Subscription {
  flavour: TelemetryFlavour;
  types: TelemetryCategory[];
  buffering: Buffering;
  /** Where batches go, with the sandbox host name already resolved to 127.0.0.1. */
  url: string;
}

const bounded = (b: { min: number; max: number; default: number }) =>
  z.number().int().min(b.min).max(b.max).default(b.default);

function subscriptionSchema(flavour: TelemetryFlavour) {
  const bounds = BUFFERING_BOUNDS[flavour];
  const versions = flavour === 'telemetry' ? TELEMETRY_SCHEMA_VERSIONS : LOGS_SCHEMA_VERSIONS;
  const version = z.enum(versions);
  return z.object({
    schemaVersion: flavour === 'telemetry' ? version : version.optional(),
    destination: z.object({ protocol: z.literal('HTTP'), URI: z.string().min(1) }),
    types: z.array(z.enum(['platform', 'function', 'extension'])).min(1),
    buffering: z
      .object({
        maxItems: bounded(bounds.maxItems),
        maxBytes: bounded(bounds.maxBytes),
        timeoutMs: bounded(bounds.timeoutMs),
      })
      .default({
        maxItems: bounds.maxItems.default,
        maxBytes: bounds.maxBytes.default,
        timeoutMs: bounds.timeoutMs.default,
      }),
  });
}

export class SubscriptionError extends Error {
  readonly errorType = 'ValidationError';
}

/** Validates a subscription body; the error message names each bad field. */
export function parseSubscription(flavour: TelemetryFlavour, body: string): Subscription {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (err) {
    throw new SubscriptionError(`Invalid JSON: ${(err as Error).message}`);
  }
  const parsed = subscriptionSchema(flavour).safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    throw new SubscriptionError(issues.join('; '));
  }
  const { destination, types, buffering } = parsed.data;
  let url: URL;
  try {
    url = new URL(destination.URI);
  } catch {
    throw new SubscriptionError(`Invalid destination: ${destination.URI} is not a URI`);
  }
  if (url.protocol !== 'http:' || !SANDBOX_HOSTS.includes(url.hostname) || url.port === '') {
    throw new SubscriptionError(
      `Invalid destination: ${destination.URI} (expected http://sandbox.localdomain:<port>[/<path>])`,
    );
  }
  url.hostname = '127.0.0.1';
  return { flavour, types: [...new Set(types)], buffering, url: url.toString() };
}

export function categoryOf(type: string): TelemetryCategory {
  if (type === 'function' || type === 'extension') return type;
  return 'platform';
}

/**
 * The same event for a Logs API subscriber: its older platform records (`platform.start`,
 * `platform.end`, `platform.report` without status), no init records. An empty list drops it.
 */
export function asLogsApiEvents(event: TelemetryEvent): TelemetryEvent[] {
  const record = (event.record ?? {}) as Record<string, unknown>;
  switch (event.type) {
    case 'platform.initStart':
    case 'platform.initRuntimeDone':
    case 'platform.initReport':
    case 'platform.telemetrySubscription':
      return [];
    case 'platform.start':
      return [{ ...event, record: { requestId: record.requestId, version: record.version } }];
    case 'platform.runtimeDone':
      return [
        { ...event, record: { requestId: record.requestId, status: record.status } },
        { ...event, type: 'platform.end', record: { requestId: record.requestId } },
      ];
    case 'platform.report':
      return [{ ...event, record: { requestId: record.requestId, metrics: record.metrics } }];
    default:
      return [event];
  }
}

/**
 * A subscriber's buffer: events are held until `maxItems` or `maxBytes` is reached or
 * `timeoutMs` has passed since the oldest one arrived, then go out as one JSON array.
 */
export class TelemetryBuffer {
  private events: TelemetryEvent[] = [];
  private bytes = 0;

  constructor(private readonly buffering: Buffering) {}

  get size(): number {
    return this.events.length;
  }

  /** Adds an event; true when the buffer is now due to be flushed. */
  push(event: TelemetryEvent): boolean {
    this.events.push(event);
    this.bytes += Buffer.byteLength(JSON.stringify(event));
    return this.events.length >= this.buffering.maxItems || this.bytes >= this.buffering.maxBytes;
  }

  take(): TelemetryEvent[] {
    const events = this.events;
    this.events = [];
    this.bytes = 0;
    return events;
  }
}

/** Splits a byte stream into lines (without their `\n` / `\r\n`); a partial line waits for its end. */
export class LineSplitter {
  private partial = '';

  constructor(
    private readonly onLine: (line: string) => void,
    /** Lambda cuts a log line at 256 KiB. */
    private readonly maxLine = 256 * 1024,
  ) {}

  push(chunk: Buffer): void {
    const parts = (this.partial + chunk.toString('utf8')).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    if (this.partial.length > this.maxLine) {
      this.onLine(this.partial);
      this.partial = '';
    }
  }

  flush(): void {
    if (this.partial !== '') this.onLine(this.partial);
    this.partial = '';
  }
}

// ---- Lambda's platform records (Telemetry API schema 2022-12-13) -------------------------

export type InvokeStatus = 'success' | 'error' | 'failure' | 'timeout';

export interface Tracing {
  type: 'X-Amzn-Trace-Id';
  value: string;
}

export const tracingOf = (traceId: string | undefined): { tracing?: Tracing } =>
  traceId ? { tracing: { type: 'X-Amzn-Trace-Id', value: traceId } } : {};

const round = (ms: number) => Math.round(ms * 1000) / 1000;

export const platformRecords = {
  initStart: (init: {
    initializationType: string;
    runtimeVersion: string;
    functionName: string;
    functionVersion: string;
  }) => ({
    initializationType: init.initializationType,
    phase: 'init',
    runtimeVersion: init.runtimeVersion,
    functionName: init.functionName,
    functionVersion: init.functionVersion,
  }),
  initRuntimeDone: (initializationType: string, status: InvokeStatus, errorType?: string) => ({
    initializationType,
    phase: 'init',
    status,
    ...(errorType ? { errorType } : {}),
  }),
  initReport: (initializationType: string, status: InvokeStatus, durationMs: number, errorType?: string) => ({
    initializationType,
    phase: 'init',
    status,
    ...(errorType ? { errorType } : {}),
    metrics: { durationMs: round(durationMs) },
  }),
  start: (requestId: string, version: string, traceId?: string) => ({
    requestId,
    version,
    ...tracingOf(traceId),
  }),
  runtimeDone: (r: {
    requestId: string;
    status: InvokeStatus;
    errorType?: string;
    durationMs: number;
    producedBytes?: number;
    traceId?: string;
  }) => ({
    requestId: r.requestId,
    status: r.status,
    ...(r.errorType ? { errorType: r.errorType } : {}),
    metrics: {
      durationMs: round(r.durationMs),
      ...(r.producedBytes !== undefined ? { producedBytes: r.producedBytes } : {}),
    },
    ...tracingOf(r.traceId),
  }),
  report: (r: {
    requestId: string;
    status: InvokeStatus;
    errorType?: string;
    durationMs: number;
    memorySizeMB: number;
    maxMemoryUsedMB: number;
    initDurationMs?: number;
    traceId?: string;
  }) => ({
    requestId: r.requestId,
    status: r.status,
    ...(r.errorType ? { errorType: r.errorType } : {}),
    metrics: {
      durationMs: round(r.durationMs),
      billedDurationMs: Math.max(1, Math.ceil(r.durationMs)),
      memorySizeMB: r.memorySizeMB,
      maxMemoryUsedMB: r.maxMemoryUsedMB,
      ...(r.initDurationMs !== undefined ? { initDurationMs: round(r.initDurationMs) } : {}),
    },
    ...tracingOf(r.traceId),
  }),
  extension: (name: string, events: string[]) => ({ name, state: 'Ready', events }),
  subscription: (name: string, types: string[]) => ({ name, state: 'Subscribed', types }),
};
