// Prometheus metrics of the gateway, on their own registry (docs/metrics.md lists them).
// Counters and histograms are updated on the invoke path; gauges are computed from the
// environment pool and the concurrency ledger when scraped.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EnvironmentView } from './scaling/environment-plan.js';
import type { EnvironmentRecord } from './environments/types.js';
import type { WarmPoolStatus } from './pool/warm-pool.js';

const FN = ['namespace', 'function'] as const;
const FNV = ['namespace', 'function', 'version'] as const;

export interface GaugeSources {
  environments(): Array<EnvironmentView & { record: EnvironmentRecord }>;
  concurrentExecutions(namespace: string, fn: string): number;
  unreservedConcurrentExecutions(namespace: string): number;
  namespaces(): string[];
  /** With several replicas: this replica's grant of a namespace's shared unreserved pool. */
  unreservedGrant?(namespace: string): number;
  /** The warm pool per namespace and shape, when there is one. */
  warmPool?(): WarmPoolStatus[];
}

export class GatewayMetrics {
  readonly registry = new Registry();

  readonly invocations = new Counter({
    name: 'lamina_invocations_total',
    help: 'Invocations that ran the function (Lambda Invocations), by invocation type.',
    labelNames: [...FNV, 'invocation_type'] as const,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'lamina_errors_total',
    help: 'Invocations that ended in a function error (X-Amz-Function-Error), by error kind.',
    labelNames: [...FNV, 'error_type'] as const,
    registers: [this.registry],
  });
  readonly throttles = new Counter({
    name: 'lamina_throttles_total',
    help: 'Invocations refused with 429 TooManyRequestsException, by throttle reason.',
    labelNames: [...FNV, 'reason'] as const,
    registers: [this.registry],
  });
  readonly serviceErrors = new Counter({
    name: 'lamina_service_errors_total',
    help: 'Invocations that failed in Lamina itself (environment unreachable, cold start timeout …).',
    labelNames: FNV,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'lamina_invocation_duration_seconds',
    help: 'Time from dispatch to the environment until its answer (warm and cold).',
    labelNames: FNV,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
    registers: [this.registry],
  });
  readonly coldStarts = new Counter({
    name: 'lamina_cold_starts_total',
    help: 'Invocations that had to wait for a new execution environment.',
    labelNames: FNV,
    registers: [this.registry],
  });
  readonly coldStartDuration = new Histogram({
    name: 'lamina_cold_start_wait_seconds',
    help: 'Time a cold invocation waited for its environment (pod creation until ready).',
    labelNames: FNV,
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60],
    registers: [this.registry],
  });
  readonly initDuration = new Histogram({
    name: 'lamina_init_duration_seconds',
    help: 'Init phase of the runtime as reported by the agent (X-Lamina-Init-Duration-Ms).',
    labelNames: [...FNV, 'initialization_type'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: [this.registry],
  });
  readonly spillover = new Counter({
    name: 'lamina_provisioned_concurrency_spillover_invocations_total',
    help: 'Invocations served on-demand because all provisioned environments were busy.',
    labelNames: FNV,
    registers: [this.registry],
  });
  readonly environmentResets = new Counter({
    name: 'lamina_environment_resets_total',
    help: 'Runtime restarts inside an environment (timeout, exit, out of memory).',
    labelNames: FNV,
    registers: [this.registry],
  });
  readonly environmentFailures = new Counter({
    name: 'lamina_environment_failures_total',
    help: 'Environments that failed to start or crashed and were replaced.',
    labelNames: FNV,
    registers: [this.registry],
  });
  readonly warmPoolClaims = new Counter({
    name: 'lamina_warm_pool_claims_total',
    help: 'Cold starts of a pool-shaped environment: hit (specialised pool pod), empty (no ready pool pod) or failed (hand-over failed); the last two created a pod.',
    labelNames: ['namespace', 'shape', 'result'] as const,
    registers: [this.registry],
  });
  readonly urlResponses = new Counter({
    name: 'lamina_url_responses_total',
    help: 'Function URL responses by status class (Lambda Url4xxCount / Url5xxCount).',
    labelNames: [...FN, 'status_class'] as const,
    registers: [this.registry],
  });

  constructor(sources: GaugeSources, withProcessMetrics = true) {
    if (withProcessMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'lamina_gateway_' });
    const registers = [this.registry];
    new Gauge({
      name: 'lamina_concurrent_executions',
      help: 'Executions in flight per function: busy or starting environments (Lambda ConcurrentExecutions).',
      labelNames: FN,
      registers,
      collect() {
        this.reset();
        const seen = new Set<string>();
        for (const env of sources.environments()) {
          const key = `${env.record.namespace}/${env.record.functionName}`;
          if (seen.has(key)) continue;
          seen.add(key);
          this.set(
            { namespace: env.record.namespace, function: env.record.functionName },
            sources.concurrentExecutions(env.record.namespace, env.record.functionName),
          );
        }
      },
    });
    /** A gauge per namespace the ledger knows, read when scraped. */
    const perNamespace = (name: string, help: string, valueOf: (namespace: string) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['namespace'] as const,
        registers,
        collect() {
          this.reset();
          for (const ns of sources.namespaces()) this.set({ namespace: ns }, valueOf(ns));
        },
      });
    perNamespace(
      'lamina_unreserved_concurrent_executions',
      'Executions counted against the unreserved pool of a namespace.',
      (ns) => sources.unreservedConcurrentExecutions(ns),
    );
    if (sources.unreservedGrant) {
      perNamespace(
        'lamina_unreserved_concurrency_grant',
        "This replica's part of a namespace's unreserved concurrency (several gateway replicas).",
        sources.unreservedGrant,
      );
    }
    new Gauge({
      name: 'lamina_environments',
      help: 'Execution environments by state (starting, idle, busy) and initialization type.',
      labelNames: [...FNV, 'state', 'initialization_type'] as const,
      registers,
      collect() {
        this.reset();
        for (const env of sources.environments()) {
          this.inc({
            namespace: env.record.namespace,
            function: env.record.functionName,
            version: env.record.version,
            state: env.state,
            initialization_type: env.initializationType,
          });
        }
      },
    });
    new Gauge({
      name: 'lamina_warm_pool_environments',
      help: 'Generic environments in the warm pool by state (ready, starting), per namespace and shape.',
      labelNames: ['namespace', 'shape', 'state'] as const,
      registers,
      collect() {
        this.reset();
        for (const s of sources.warmPool?.() ?? []) {
          this.set({ namespace: s.namespace, shape: s.shape, state: 'ready' }, s.ready);
          this.set({ namespace: s.namespace, shape: s.shape, state: 'starting' }, s.starting);
        }
      },
    });
    new Gauge({
      name: 'lamina_warm_pool_target',
      help: 'Generic environments the warm pool keeps per namespace and shape: LAMINA_POOL_SIZE, or 0 in a namespace without cold starts for LAMINA_POOL_IDLE_NAMESPACE_SECONDS.',
      labelNames: ['namespace', 'shape'] as const,
      registers,
      collect() {
        this.reset();
        for (const s of sources.warmPool?.() ?? [])
          this.set({ namespace: s.namespace, shape: s.shape }, s.target);
      },
    });
    new Gauge({
      name: 'lamina_warm_pool_idle_memory_bytes',
      help: 'Memory requested by generic environments waiting in the pool (ready or starting), per namespace and shape: the pool’s idle cost now.',
      labelNames: ['namespace', 'shape'] as const,
      registers,
      collect() {
        this.reset();
        for (const s of sources.warmPool?.() ?? [])
          this.set({ namespace: s.namespace, shape: s.shape }, (s.ready + s.starting) * s.podMemoryBytes);
      },
    });
    new Counter({
      name: 'lamina_warm_pool_idle_pod_seconds_total',
      help: 'Seconds generic environments spent in the pool untaken, summed over pods, per namespace and shape: the pool’s idle cost over time.',
      labelNames: ['namespace', 'shape'] as const,
      registers,
      collect() {
        this.reset();
        for (const s of sources.warmPool?.() ?? [])
          this.inc({ namespace: s.namespace, shape: s.shape }, s.idlePodSeconds);
      },
    });
    const claims = this.warmPoolClaims;
    new Gauge({
      name: 'lamina_warm_pool_hit_ratio',
      help: 'Share of pool-shaped cold starts served from the pool since the gateway started, per namespace (rates: lamina_warm_pool_claims_total).',
      labelNames: ['namespace'] as const,
      registers,
      async collect() {
        this.reset();
        const byNamespace = new Map<string, { hit: number; all: number }>();
        for (const { labels, value } of (await claims.get()).values) {
          const namespace = String(labels.namespace);
          const c = byNamespace.get(namespace) ?? { hit: 0, all: 0 };
          c.all += value;
          if (labels.result === 'hit') c.hit += value;
          byNamespace.set(namespace, c);
        }
        for (const [namespace, c] of byNamespace) if (c.all > 0) this.set({ namespace }, c.hit / c.all);
      },
    });
    new Gauge({
      name: 'lamina_provisioned_concurrency_utilization',
      help: 'Busy / ready provisioned environments per version (Lambda ProvisionedConcurrencyUtilization).',
      labelNames: FNV,
      registers,
      collect() {
        this.reset();
        const counts = new Map<string, { labels: Record<string, string>; busy: number; ready: number }>();
        for (const env of sources.environments()) {
          if (env.initializationType !== 'provisioned-concurrency' || env.state === 'starting') continue;
          const labels = {
            namespace: env.record.namespace,
            function: env.record.functionName,
            version: env.record.version,
          };
          const key = `${labels.namespace}/${labels.function}/${labels.version}`;
          const c = counts.get(key) ?? { labels, busy: 0, ready: 0 };
          c.ready += 1;
          if (env.state === 'busy') c.busy += 1;
          counts.set(key, c);
        }
        for (const c of counts.values()) this.set(c.labels, c.ready ? c.busy / c.ready : 0);
      },
    });
  }
}
