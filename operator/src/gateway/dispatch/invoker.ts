// One synchronous invocation, end to end: resolve the target, get an environment (warm,
// cold or 429), call its agent, give the environment back, record metrics. The HTTP routes
// and (later) the async poller both call this.
import { ServiceException, TooManyRequestsException } from '../../errors.js';
import type { Clock, Logger } from '../../shared/index.js';
import type { FunctionCatalog } from '../catalog/catalog.js';
import {
  type AgentClient,
  type AgentStreamSink,
  AgentUnavailableError,
} from '../environments/agent-client.js';
import type { EnvironmentPool, Lease } from '../environments/environment-pool.js';
import { type EnvironmentSettings, environmentSpec } from '../environments/environment-spec.js';
import type { EnvironmentSpec } from '../environments/types.js';
import type { GatewayMetrics } from '../metrics.js';
import { resolveFunctionReference } from '../../api/index.js';
import { type InvokeTarget, resolveTarget } from '../routing/resolve-target.js';
import type { RandomSource } from '../routing/weighted-routing.js';
import type { InvocationTrace, InvokeTracing } from '../tracing/invoke-tracing.js';

export type InvocationType = 'RequestResponse' | 'Event' | 'DryRun';

export interface InvokeOptions {
  requestId: string;
  invocationType: InvocationType;
  /** X-Amz-Log-Type: Tail (honoured for RequestResponse only). */
  tail?: boolean;
  /** Base64 client context (RequestResponse only). */
  clientContext?: string;
  traceId?: string;
  /** Take the response as a stream (RequestResponse only): chunks reach it as they are written. */
  stream?: AgentStreamSink;
}

export interface InvokeOutcome {
  /** The response, or the error document; empty when it was streamed. */
  payload: Buffer;
  executedVersion: string;
  functionError?: string;
  logResult?: string;
}

export interface InvokerDeps {
  catalog: FunctionCatalog;
  pool: EnvironmentPool;
  agent: AgentClient;
  metrics: GatewayMetrics;
  clock: Clock;
  log: Logger;
  random: RandomSource;
  settings: EnvironmentSettings & { defaultNamespace: string };
  /** Spans of each invocation (tracing.otlpEndpoint); absent: tracing off, no cost. */
  tracing?: InvokeTracing;
}

/** What the routes and the async processor invoke through: one replica's Invoker, or the sharded one. */
export type InvokePort = Pick<Invoker, 'resolve' | 'invoke'>;

/** Slack on top of the function timeout for the agent to report a timeout itself. */
const AGENT_SLACK_MS = 5000;
/** Environments an invocation tries when each refuses it as busy, or cannot be reached at all. */
const BUSY_ATTEMPTS = 3;

export class Invoker {
  /**
   * Each function object's environment specs by version and revision: building one hashes the
   * whole configuration, too dear for every invoke. A changed function is a new object in the
   * catalog, so its old specs go with the old object.
   */
  private readonly specs = new WeakMap<InvokeTarget['fn'], Map<string, EnvironmentSpec>>();

  constructor(private readonly deps: InvokerDeps) {}

  private specOf(target: InvokeTarget): EnvironmentSpec {
    let byVersion = this.specs.get(target.fn);
    if (!byVersion) this.specs.set(target.fn, (byVersion = new Map()));
    const key = `${target.version}/${target.snapshot.revisionId}`;
    let spec = byVersion.get(key);
    if (!spec) {
      spec = environmentSpec(target.fn, target.version, target.snapshot, 'on-demand', this.deps.settings);
      byVersion.set(key, spec);
    }
    return spec;
  }

  /** FunctionName + Qualifier → what runs, or a typed 400/404/409. */
  resolve(
    functionName: string,
    qualifier: string | undefined,
    bareNamespace = this.deps.settings.defaultNamespace,
  ): InvokeTarget {
    const { catalog, settings, random } = this.deps;
    const ref = resolveFunctionReference(functionName, qualifier, bareNamespace);
    return resolveTarget(catalog, ref, settings.region, random);
  }

  async invoke(target: InvokeTarget, payload: Buffer, opts: InvokeOptions): Promise<InvokeOutcome> {
    const { pool, metrics, clock, log } = this.deps;
    const labels = { namespace: target.namespace, function: target.functionName, version: target.version };
    const spec = this.specOf(target);
    const requested = clock.now();
    const trace = this.deps.tracing?.begin(target, opts, requested);
    let started = requested;
    for (let attempt = 1; ; attempt++) {
      let lease;
      try {
        lease = await pool.acquire(spec);
      } catch (err) {
        if (err instanceof TooManyRequestsException) metrics.throttles.inc({ ...labels, reason: err.reason });
        else metrics.serviceErrors.inc(labels);
        trace?.end({ endedAt: clock.now(), error: err });
        throw err;
      }
      try {
        started = clock.now();
        return await this.run(target, payload, opts, lease, labels, requested, trace, started);
      } catch (err) {
        // Nothing ran, so this invocation takes another environment: the agent refused it,
        // running another replica's invocation (an environment adopted with a moved shard that
        // said it was free; it stays busy until it says otherwise), or no connection could be
        // made to it (its pod is gone — preempted, evicted, crashed; it is destroyed).
        const unavailable = err instanceof AgentUnavailableError ? err : undefined;
        if (!(unavailable?.busy || unavailable?.notSent) || attempt >= BUSY_ATTEMPTS) {
          lease.release({ broken: err instanceof AgentUnavailableError });
          trace?.end({ endedAt: clock.now(), lease, agentStartedAt: started, error: err });
          metrics.serviceErrors.inc(labels);
          log.error('invoke failed in the environment', {
            requestId: opts.requestId,
            function: target.functionName,
            version: target.version,
            environment: lease.env.id,
            error: String(err),
          });
          throw new ServiceException('The execution environment failed while handling the request.');
        }
        if (unavailable.busy) lease.release({ busyElsewhere: true });
        else lease.release({ broken: true });
        log.warn(
          unavailable.busy
            ? 'environment busy with another invocation; taking another'
            : 'environment unreachable before the invocation was sent; taking another',
          { requestId: opts.requestId, environment: lease.env.id },
        );
      }
    }
  }

  /** Calls the agent with a leased environment; gives it back on success (the caller on failure). */
  private async run(
    target: InvokeTarget,
    payload: Buffer,
    opts: InvokeOptions,
    lease: Lease,
    labels: { namespace: string; function: string; version: string },
    requested: number,
    trace: InvocationTrace | undefined,
    started: number,
  ): Promise<InvokeOutcome> {
    const { agent, metrics, clock } = this.deps;
    if (lease.coldStart) {
      metrics.coldStarts.inc(labels);
      metrics.coldStartDuration.observe(labels, (clock.now() - requested) / 1000);
    }
    if (lease.spillover) metrics.spillover.inc(labels);
    const sync = opts.invocationType === 'RequestResponse';
    const result = await agent.invoke(lease.env.address, {
      requestId: opts.requestId,
      payload,
      invokedFunctionArn: target.invokedFunctionArn,
      tail: sync && opts.tail === true,
      ...(sync && opts.clientContext ? { clientContext: opts.clientContext } : {}),
      ...(trace ? { traceId: trace.header } : opts.traceId ? { traceId: opts.traceId } : {}),
      ...(sync && opts.stream ? { stream: opts.stream } : {}),
      timeoutMs: target.snapshot.timeout * 1000 + AGENT_SLACK_MS,
    });
    // Environments re-initialise in place after a reset (an image function's too: its launcher
    // starts the entry point again); one that cannot is reported by its pod.
    lease.release();
    trace?.end({ endedAt: clock.now(), lease, agentStartedAt: started, result });
    metrics.invocations.inc({ ...labels, invocation_type: opts.invocationType });
    metrics.duration.observe(labels, (clock.now() - started) / 1000);
    if (result.functionError) metrics.errors.inc({ ...labels, error_type: result.functionError });
    if (result.environmentReset) metrics.environmentResets.inc(labels);
    if (result.initDurationMs !== undefined) {
      metrics.initDuration.observe(
        { ...labels, initialization_type: lease.env.initializationType },
        result.initDurationMs / 1000,
      );
    }
    return {
      payload: result.payload,
      executedVersion: target.version,
      ...(result.functionError ? { functionError: result.functionError } : {}),
      ...(sync && opts.tail && result.logResult ? { logResult: result.logResult } : {}),
    };
  }
}
