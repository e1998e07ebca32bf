// The EventSourceMapping reconciler: checks that the function (and its qualifier) exists and
// reports the mapping's Lambda state — Enabled or Disabled as spec.enabled says, Ready only
// when the function can be invoked. The pollers run what is Enabled and Ready; they report
// lastProcessingResult themselves (not owned here).
import type { EventSourceMapping, EventSourceMappingStatus, MappingSource } from '../api/index.js';
import { clip } from '../shared/index.js';
import { aliasesOf, aliasName, type ControllerContext, isoTime, versionsOf } from './context.js';
import { type Evaluation, reconciler, type StatusEvent } from './framework/reconciler.js';
import { type Failure, Reason } from './reasons.js';

export const reconcileEventSourceMapping = reconciler<
  ControllerContext,
  EventSourceMapping,
  EventSourceMappingStatus
>({
  owned: ['observedGeneration', 'state', 'stateTransitionReason', 'lastModified', 'source', 'conditions'],
  resources: (ctx) => ({ cache: ctx.cache.eventsourcemappings, client: ctx.clients.eventsourcemappings }),
  evaluate,
});

/** `name[:qualifier]` → its parts; `$LATEST` is the unqualified function. */
export function splitFunctionName(functionName: string): { name: string; qualifier?: string } {
  const [name = functionName, qualifier] = functionName.split(':');
  return qualifier === undefined || qualifier === '$LATEST' ? { name } : { name, qualifier };
}

/** What `kubectl get esm` shows as the source. */
export function describeSource(source: MappingSource): string {
  if (source.kafka) return `kafka ${source.kafka.topics.join(',')}`;
  if (source.sqs) return `sqs ${source.sqs.queueUrl}`;
  if (source.nats) return `nats ${source.nats.stream}${source.nats.subject ? ` ${source.nats.subject}` : ''}`;
  if (source.schedule) return `schedule ${source.schedule.expression}`;
  return '';
}

async function evaluate(
  ctx: ControllerContext,
  mapping: EventSourceMapping,
): Promise<Evaluation<EventSourceMapping, EventSourceMappingStatus>> {
  const previous = mapping.status ?? {};
  const changed = previous.observedGeneration !== (mapping.metadata.generation ?? 0);
  const state = mapping.spec.enabled === false ? 'Disabled' : 'Enabled';
  const status: Omit<EventSourceMappingStatus, 'observedGeneration' | 'conditions'> = {
    state,
    stateTransitionReason: 'USER_INITIATED',
    source: describeSource(mapping.spec.source),
    lastModified: changed || !previous.lastModified ? isoTime(ctx.clock.now()) : previous.lastModified,
  };
  const failure = validate(ctx, mapping);
  if (failure) {
    return {
      status,
      conditions: [{ type: 'Ready', status: 'False', reason: failure.reasonCode, message: failure.message }],
      events: (before): StatusEvent[] =>
        conditionMessage(before) !== failure.message
          ? [{ type: 'Warning', reason: failure.reasonCode, message: clip(failure.message) }]
          : [],
    };
  }
  const message = `${state}: ${mapping.spec.functionName} ← ${status.source}`;
  return {
    status,
    conditions: [{ type: 'Ready', status: 'True', reason: state, message }],
    events: (before): StatusEvent[] =>
      before.state !== state ? [{ type: 'Normal', reason: state, message }] : [],
  };
}

function conditionMessage(status: EventSourceMappingStatus): string | undefined {
  return status.conditions?.find((c) => c.type === 'Ready')?.message;
}

function validate(ctx: ControllerContext, mapping: EventSourceMapping): Failure | undefined {
  const namespace = mapping.metadata.namespace ?? 'default';
  const { name, qualifier } = splitFunctionName(mapping.spec.functionName);
  const fn = ctx.cache.functions.get(namespace, name);
  if (!fn || fn.metadata.deletionTimestamp) {
    return { reasonCode: Reason.ResourceNotFound, message: `Function not found: ${name}` };
  }
  if (qualifier === undefined) return undefined;
  const exists = /^[0-9]+$/.test(qualifier)
    ? versionsOf(ctx.cache.versions, namespace, name).some((v) => String(v.spec.version) === qualifier)
    : aliasesOf(ctx.cache.aliases, namespace, name).some((a) => aliasName(a) === qualifier);
  return exists
    ? undefined
    : { reasonCode: Reason.ResourceNotFound, message: `Function not found: ${name}:${qualifier}` };
}
