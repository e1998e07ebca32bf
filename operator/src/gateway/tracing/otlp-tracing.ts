// Invocation spans exported over OTLP/HTTP (protobuf) with OpenTelemetry's SDK. Imported only
// when tracing is configured. Spans are made when an invocation ends, with the times it
// recorded, in a trace whose id is the invocation's Lambda trace id: ids are chosen here (the
// trace id of a new root, the span id the function was told is its parent), so the SDK gets
// an IdGenerator that hands out a preset id once.
import {
  diag,
  DiagLogLevel,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  type IdGenerator,
  RandomIdGenerator,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_INSTANCE_ID, ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { type Logger, randomHex } from '../../shared/index.js';
import type { InvokeTarget } from '../routing/resolve-target.js';
import { invocationSpans, type SpanKey, type SpanPlan } from './invocation-spans.js';
import {
  type InvocationEnd,
  type InvocationStart,
  type InvocationTrace,
  invocationFacts,
  type InvokeTracing,
} from './invoke-tracing.js';
import { headerFor, sampled, traceContextOf } from './trace-context.js';
import { newTraceId } from '../../protocol/index.js';

export interface OtlpTracingOptions {
  /** The collector: its base URL (`/v1/traces` is added) or the full traces URL. */
  endpoint: string;
  /** Sent with every export (an API key, a tenant). */
  headers: Record<string, string>;
  /** Share of invocations recorded when the caller did not decide (0–1). */
  samplingRatio: number;
  /** service.instance.id: this replica. */
  instanceId: string;
  log: Logger;
  /** How long spans are batched before an export (the SDK's default: 5 s). */
  exportDelayMs?: number;
  /** How long one export may take, its retries included (the SDK's default: 10 s). */
  exportTimeoutMs?: number;
  /** Where spans go instead of the OTLP exporter (tests). */
  exporter?: SpanExporter;
}

/** The OTLP/HTTP traces URL of an endpoint, as OTEL_EXPORTER_OTLP_ENDPOINT is read. */
export function tracesUrl(endpoint: string): string {
  const url = new URL(endpoint);
  if (!url.pathname.endsWith('/v1/traces')) url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/traces`;
  return url.toString();
}

/** Random ids, except the one preset for the next span (or trace) the SDK starts. */
class PresetIds implements IdGenerator {
  private readonly random = new RandomIdGenerator();
  nextTraceId: string | undefined;
  nextSpanId: string | undefined;

  generateTraceId(): string {
    const id = this.nextTraceId ?? this.random.generateTraceId();
    this.nextTraceId = undefined;
    return id;
  }

  generateSpanId(): string {
    const id = this.nextSpanId ?? this.random.generateSpanId();
    this.nextSpanId = undefined;
    return id;
  }
}

const KINDS = { server: SpanKind.SERVER, client: SpanKind.CLIENT, internal: SpanKind.INTERNAL } as const;

export function createOtlpTracing(options: OtlpTracingOptions): InvokeTracing {
  const { log } = options;
  // The SDK reports failed exports through diag; without a logger they would vanish.
  diag.setLogger(
    {
      error: (message, ...args) => log.warn('tracing: export failed', { message, detail: args.map(String) }),
      warn: (message, ...args) => log.warn('tracing', { message, detail: args.map(String) }),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    // One gateway, one tracing setup; tests make several.
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
  const ids = new PresetIds();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: 'lamina-gateway',
      [ATTR_SERVICE_INSTANCE_ID]: options.instanceId,
    }),
    // Sampling is decided per invocation (sampled()); what reaches the SDK is recorded.
    sampler: new AlwaysOnSampler(),
    idGenerator: ids,
    spanProcessors: [
      new BatchSpanProcessor(
        options.exporter ??
          new OTLPTraceExporter({
            url: tracesUrl(options.endpoint),
            headers: options.headers,
            ...(options.exportTimeoutMs !== undefined ? { timeoutMillis: options.exportTimeoutMs } : {}),
          }),
        options.exportDelayMs !== undefined ? { scheduledDelayMillis: options.exportDelayMs } : {},
      ),
    ],
  });
  const tracer = provider.getTracer('lamina-gateway');

  const record = (
    plans: SpanPlan[],
    traceId: string,
    parentSpanId: string | undefined,
    runtimeId: string,
  ) => {
    const parentContext = parentSpanId
      ? trace.setSpanContext(ROOT_CONTEXT, {
          traceId,
          spanId: parentSpanId,
          traceFlags: TraceFlags.SAMPLED,
          isRemote: true,
        })
      : ROOT_CONTEXT;
    const spans = new Map<SpanKey, Span>();
    for (const plan of plans) {
      const parent = plan.parent ? spans.get(plan.parent) : undefined;
      if (!plan.parent && !parentSpanId) ids.nextTraceId = traceId;
      if (plan.key === 'runtime') ids.nextSpanId = runtimeId;
      const span = tracer.startSpan(
        plan.name,
        { kind: KINDS[plan.kind], startTime: plan.startMs, attributes: plan.attributes },
        parent ? trace.setSpan(ROOT_CONTEXT, parent) : parentContext,
      );
      if (plan.error) span.setStatus({ code: SpanStatusCode.ERROR, message: plan.error });
      spans.set(plan.key, span);
    }
    for (const plan of plans) spans.get(plan.key)?.end(plan.endMs);
  };

  return {
    begin(target: InvokeTarget, start: InvocationStart, startedAt: number): InvocationTrace | undefined {
      const header = start.traceId ?? newTraceId(startedAt, randomHex);
      const context = traceContextOf(header);
      if (!context || !sampled(context, options.samplingRatio)) return undefined;
      // The runtime's Invoke span: made at the end, named now, so the function's spans join it.
      const runtimeId = randomHex(8);
      return {
        header: headerFor(header, runtimeId, true),
        end(end: InvocationEnd) {
          // After the caller's answer is on its way; and tracing never fails an invocation.
          setImmediate(() => {
            try {
              const plans = invocationSpans(invocationFacts(target, start, startedAt, end));
              record(plans, context.traceId, context.parentSpanId, runtimeId);
            } catch (err) {
              log.warn('tracing: spans not recorded', { requestId: start.requestId, error: String(err) });
            }
          });
        },
      };
    },
    shutdown: () => provider.shutdown(),
  };
}
