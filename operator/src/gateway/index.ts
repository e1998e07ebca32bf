// The gateway: the Invoke API and function URLs in front of execution environments, with
// asynchronous invocation. The entry point assembles these parts.
export * from './async/config.js';
export * from './async/gateway-queue.js';
export * from './async/runtime.js';
export * from './auth/access-keys.js';
export * from './auth/lambda-auth.js';
export * from './config.js';
export * from './environments/agent-client.js';
export * from './gateway.js';
export * from './kubernetes/access-key-secrets.js';
export * from './kubernetes/kubernetes-catalog.js';
export * from './kubernetes/kubernetes-provider.js';
export * from './kubernetes/provisioned-status-writer.js';
export * from './pool/inline-artifacts.js';
export * from './pool/pooled-provider.js';
export * from './pool/warm-pool.js';
export * from './sharding/config.js';
export * from './sharding/coordinator.js';
export * from './sharding/forward.js';
export * from './sharding/orphan-pools.js';
export * from './sharding/unreserved-budget.js';
export type { InvokeTracing } from './tracing/invoke-tracing.js';

/** OpenTelemetry's SDK and the OTLP exporter, loaded only when tracing is configured. */
export const loadOtlpTracing = () => import('./tracing/otlp-tracing.js');
