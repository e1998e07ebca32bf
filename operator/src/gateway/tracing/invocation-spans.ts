// The spans of one invocation, decided from what the invoker saw and what the agent timed.
// Pure: the OpenTelemetry adapter (otlp-tracing.ts) only turns these plans into spans.
//
//   Invoke <function>            server    the whole invocation, as the gateway served it
//   ├─ Start environment         internal  cold start: pod creation or warm-pool specialisation
//   │  └─ Init                   internal  the runtime's Init, when it ran during that start
//   └─ Agent call                client    the request to the environment's agent
//      ├─ Init                   internal  a suppressed Init, run inside this invoke
//      └─ Invoke                 internal  the runtime's Invoke phase; the function's own spans
//                                          are its children (its id is the Parent it is handed)
import { ATTR_ERROR_TYPE, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from '@opentelemetry/semantic-conventions';
import type { InitializationType, PhaseTimings } from '../../protocol/index.js';

// OpenTelemetry's FaaS attributes are still incubating: named here, as its guidance says.
export const ATTR_FAAS_INVOKED_NAME = 'faas.invoked_name';
export const ATTR_FAAS_INVOCATION_ID = 'faas.invocation_id';
export const ATTR_FAAS_COLDSTART = 'faas.coldstart';
export const ATTR_FAAS_VERSION = 'faas.version';
export const ATTR_CLOUD_RESOURCE_ID = 'cloud.resource_id';

export type Attributes = Record<string, string | number | boolean>;

/** Everything the spans are made of (times in epoch milliseconds). */
export interface InvocationFacts {
  namespace: string;
  functionName: string;
  /** The version that ran. */
  version: string;
  /** The alias or version number the caller named. */
  qualifier?: string;
  invokedFunctionArn: string;
  invocationType: string;
  requestId: string;
  startedAt: number;
  endedAt: number;
  /** The environment it ran in (absent when none was given: throttled, failed to start). */
  environment?: {
    id: string;
    address: string;
    coldStart: boolean;
    initializationType: InitializationType;
    spillover: boolean;
  };
  /** When the request to the agent went out. */
  agentStartedAt?: number;
  /** What the agent answered. */
  agent?: {
    functionError?: string;
    environmentReset: boolean;
    initDurationMs?: number;
    phases?: PhaseTimings;
  };
  /** The error the caller got instead of an answer (its Lambda error type). */
  error?: { type: string; throttleReason?: string };
}

export type SpanKey = 'invoke' | 'start' | 'agent' | 'init' | 'runtime';

export interface SpanPlan {
  key: SpanKey;
  name: string;
  kind: 'server' | 'client' | 'internal';
  parent?: SpanKey;
  startMs: number;
  endMs: number;
  attributes: Attributes;
  /** Set: the span's status is Error, with this error type. */
  error?: string;
}

function invokeSpan(f: InvocationFacts): SpanPlan {
  const env = f.environment;
  const error = f.error?.type ?? f.agent?.functionError;
  return {
    key: 'invoke',
    name: `Invoke ${f.functionName}`,
    kind: 'server',
    startMs: f.startedAt,
    endMs: f.endedAt,
    attributes: {
      [ATTR_FAAS_INVOKED_NAME]: f.functionName,
      [ATTR_FAAS_INVOCATION_ID]: f.requestId,
      [ATTR_FAAS_VERSION]: f.version,
      [ATTR_CLOUD_RESOURCE_ID]: f.invokedFunctionArn,
      'lamina.namespace': f.namespace,
      ...(f.qualifier !== undefined ? { 'lamina.qualifier': f.qualifier } : {}),
      'lamina.invocation_type': f.invocationType,
      'lamina.throttled': f.error?.throttleReason !== undefined,
      ...(f.error?.throttleReason ? { 'lamina.throttle_reason': f.error.throttleReason } : {}),
      ...(env
        ? {
            [ATTR_FAAS_COLDSTART]: env.coldStart,
            'lamina.initialization_type': env.initializationType,
            ...(env.spillover ? { 'lamina.provisioned_spillover': true } : {}),
          }
        : {}),
      ...(f.agent?.functionError ? { 'lamina.function_error': f.agent.functionError } : {}),
      ...(error ? { [ATTR_ERROR_TYPE]: error } : {}),
    },
    ...(error ? { error } : {}),
  };
}

function agentSpan(f: InvocationFacts, startMs: number): SpanPlan {
  const attributes: Attributes = {};
  if (f.environment) {
    attributes['lamina.environment.id'] = f.environment.id;
    const url = URL.canParse(f.environment.address) ? new URL(f.environment.address) : undefined;
    if (url) {
      attributes[ATTR_SERVER_ADDRESS] = url.hostname;
      if (url.port) attributes[ATTR_SERVER_PORT] = Number(url.port);
    }
  }
  if (f.agent?.environmentReset) attributes['lamina.environment_reset'] = true;
  // Only a failed exchange is this span's error; a function error belongs to Invoke.
  const failed = f.agent === undefined ? f.error?.type : undefined;
  return {
    key: 'agent',
    name: 'Agent call',
    kind: 'client',
    parent: 'invoke',
    startMs,
    endMs: f.endedAt,
    attributes,
    ...(failed ? { error: failed } : {}),
  };
}

/** The spans of an invocation, parents before children. */
export function invocationSpans(f: InvocationFacts): SpanPlan[] {
  const spans = [invokeSpan(f)];
  const env = f.environment;
  const agentStart = f.agentStartedAt;
  const coldStart = env?.coldStart === true && agentStart !== undefined;
  if (coldStart) {
    spans.push({
      key: 'start',
      name: 'Start environment',
      kind: 'internal',
      parent: 'invoke',
      startMs: f.startedAt,
      endMs: agentStart,
      attributes: { 'lamina.environment.id': env.id, 'lamina.initialization_type': env.initializationType },
    });
  }
  if (agentStart === undefined) return spans;
  spans.push(agentSpan(f, agentStart));

  const phases = f.agent?.phases;
  const initMs = f.agent?.initDurationMs;
  if (phases?.initStartMs !== undefined && initMs !== undefined) {
    const initStart = agentStart + phases.initStartMs;
    // An Init from before this invocation (provisioned concurrency, an adopted environment)
    // is not part of its trace.
    if (initStart >= f.startedAt) {
      spans.push({
        key: 'init',
        name: 'Init',
        kind: 'internal',
        parent: initStart >= agentStart ? 'agent' : coldStart ? 'start' : 'invoke',
        startMs: initStart,
        endMs: initStart + initMs,
        attributes: { 'lamina.initialization_type': env?.initializationType ?? 'on-demand' },
      });
    }
  }
  // Always there once the agent was called: the function's spans name it as their parent. An
  // agent that reported no timings gets the whole call.
  const runtimeStart = phases ? agentStart + phases.invokeStartMs : agentStart;
  const functionError = f.agent?.functionError;
  spans.push({
    key: 'runtime',
    name: 'Invoke',
    kind: 'internal',
    parent: 'agent',
    startMs: runtimeStart,
    endMs: phases ? runtimeStart + phases.invokeDurationMs : f.endedAt,
    attributes: {
      [ATTR_FAAS_INVOCATION_ID]: f.requestId,
      ...(functionError ? { 'lamina.function_error': functionError } : {}),
    },
    ...(functionError ? { error: functionError } : {}),
  });
  return spans;
}
