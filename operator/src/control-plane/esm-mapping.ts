// Lambda's event source mapping members ↔ the EventSourceMapping spec, pure. Where records
// come from is Lambda's EventSourceArn, or for self-managed Kafka SelfManagedEventSource +
// Topics; Lamina reads these forms of EventSourceArn (docs/event-sources.md):
//
//   arn:aws:sqs:<region>:<account>:<queue>      an AWS SQS queue
//   http(s)://<host>/<account>/<queue>          a queue URL of any SQS-compatible server
//   nats://<host>:<port>/<stream>[/<subject>]   a NATS JetStream stream (optionally a subject)
//   schedule:<rate(...)|cron(...)>[@<zone>]     an EventBridge-style schedule
//
// and answers with the same form it was given (an SQS ARN as the ARN).
import { type EventSourceMapping, EventSourceMappingSpec, type MappingSource } from '../api/index.js';
import { InvalidParameterValueException } from '../errors.js';
import { functionArn } from './arns.js';
import { destinationOf, targetOf } from './destinations.js';

/** The members CreateEventSourceMapping and UpdateEventSourceMapping take (Update: no source). */
export interface EsmRequest {
  FunctionName?: string;
  EventSourceArn?: string;
  SelfManagedEventSource?: { Endpoints?: { KAFKA_BOOTSTRAP_SERVERS?: string[] } };
  SelfManagedKafkaEventSourceConfig?: { ConsumerGroupId?: string };
  Topics?: string[];
  Enabled?: boolean;
  BatchSize?: number;
  MaximumBatchingWindowInSeconds?: number;
  StartingPosition?: string;
  StartingPositionTimestamp?: number | string;
  FilterCriteria?: { Filters?: { Pattern?: string }[] };
  FunctionResponseTypes?: string[];
  MaximumRetryAttempts?: number;
  MaximumRecordAgeInSeconds?: number;
  BisectBatchOnFunctionError?: boolean;
  ParallelizationFactor?: number;
  DestinationConfig?: { OnFailure?: { Destination?: string } };
  ScalingConfig?: { MaximumConcurrency?: number };
}

const SQS_ARN = /^arn:aws[a-zA-Z-]*:sqs:([a-z0-9-]+):([^:]+):([^:]+)$/;

/** Where records come from, from Lambda's members. */
export function sourceOf(request: EsmRequest): { source: MappingSource; arn?: string } {
  const servers = request.SelfManagedEventSource?.Endpoints?.KAFKA_BOOTSTRAP_SERVERS;
  if (servers) {
    if (!request.Topics?.length)
      throw new InvalidParameterValueException('Topics is required for a Kafka source.');
    const group = request.SelfManagedKafkaEventSourceConfig?.ConsumerGroupId;
    return {
      source: {
        kafka: {
          bootstrapServers: servers,
          topics: request.Topics,
          ...(group && { consumerGroupId: group }),
        },
      },
    };
  }
  const arn = request.EventSourceArn;
  if (!arn) throw new InvalidParameterValueException('EventSourceArn or SelfManagedEventSource is required.');
  const sqsArn = SQS_ARN.exec(arn);
  if (sqsArn) {
    const [, region, account, queue] = sqsArn;
    return {
      arn,
      source: { sqs: { queueUrl: `https://sqs.${region}.amazonaws.com/${account}/${queue}`, region } },
    };
  }
  if (/^https?:\/\/\S+$/.test(arn)) return { arn, source: { sqs: { queueUrl: arn } } };
  const nats = /^nats:\/\/([^/\s]+)\/([^/\s]+)(?:\/(\S+))?$/.exec(arn);
  if (nats) {
    const [, host, stream = '', subject] = nats;
    return { arn, source: { nats: { url: `nats://${host}`, stream, ...(subject && { subject }) } } };
  }
  const schedule = /^schedule:((?:rate|cron)\([^)]*\))(?:@(\S+))?$/.exec(arn);
  if (schedule?.[1]) {
    const timezone = schedule[2];
    return { arn, source: { schedule: { expression: schedule[1], ...(timezone && { timezone }) } } };
  }
  throw new InvalidParameterValueException(
    `EventSourceArn ${arn} is not supported by Lamina: use an SQS queue ARN or URL, nats://host:port/stream[/subject], or schedule:rate(...)|cron(...).`,
  );
}

/** The EventSourceArn a mapping answers with (annotated at creation, else derived). */
export function eventSourceArnOf(mapping: EventSourceMapping): string | undefined {
  const given = mapping.metadata.annotations?.[EVENT_SOURCE_ARN];
  if (given) return given;
  const { sqs, nats, schedule } = mapping.spec.source;
  if (sqs) return sqs.queueUrl;
  if (nats) return `${nats.url}/${nats.stream}${nats.subject ? `/${nats.subject}` : ''}`;
  if (schedule) return `schedule:${schedule.expression}${schedule.timezone ? `@${schedule.timezone}` : ''}`;
  return undefined;
}

export const EVENT_SOURCE_ARN = 'lamina.dev/event-source-arn';

const timestampOf = (value: number | string) =>
  new Date(typeof value === 'number' ? value * 1000 : value).toISOString();

/** Lambda's tuning members → spec fields (`null` clears a field in an update's merge patch). */
export function settingsOf(request: EsmRequest, namespace: string, clear: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const set = (key: string, value: unknown) => {
    if (value !== undefined) out[key] = value;
  };
  set('enabled', request.Enabled);
  set('batchSize', request.BatchSize);
  set('maximumBatchingWindowInSeconds', request.MaximumBatchingWindowInSeconds);
  set('startingPosition', request.StartingPosition);
  if (request.StartingPositionTimestamp !== undefined)
    set('startingPositionTimestamp', timestampOf(request.StartingPositionTimestamp));
  if (request.FilterCriteria !== undefined) {
    const filters = (request.FilterCriteria.Filters ?? []).map((f) => ({ pattern: f.Pattern ?? '' }));
    out.filterCriteria = filters.length > 0 ? { filters } : clear ? null : undefined;
  }
  if (request.FunctionResponseTypes !== undefined)
    out.functionResponseTypes =
      request.FunctionResponseTypes.length > 0 ? request.FunctionResponseTypes : clear ? null : undefined;
  set('maximumRetryAttempts', request.MaximumRetryAttempts);
  set('maximumRecordAgeInSeconds', request.MaximumRecordAgeInSeconds);
  set('bisectBatchOnFunctionError', request.BisectBatchOnFunctionError);
  set('parallelizationFactor', request.ParallelizationFactor);
  if (request.DestinationConfig !== undefined) {
    const destination = request.DestinationConfig.OnFailure?.Destination;
    out.destinationConfig = destination
      ? { onFailure: { destination: targetOf(destination, namespace) } }
      : clear
        ? null
        : undefined;
  }
  if (request.ScalingConfig !== undefined) {
    const max = request.ScalingConfig.MaximumConcurrency;
    out.scalingConfig = max !== undefined ? { maximumConcurrency: max } : clear ? null : undefined;
  }
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

/** Checks a whole spec with the kind's own rules, as Lambda's InvalidParameterValueException. */
export function validSpec(spec: unknown): EventSourceMappingSpec {
  const result = EventSourceMappingSpec.safeParse(spec);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const at = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  throw new InvalidParameterValueException(`${at}${issue?.message ?? 'invalid event source mapping'}`);
}

/** Lambda's EventSourceMappingConfiguration for a mapping. */
export function esmJson(mapping: EventSourceMapping, region: string): Record<string, unknown> {
  const namespace = mapping.metadata.namespace ?? 'default';
  const { spec } = mapping;
  const status = mapping.status ?? {};
  const [name = spec.functionName, qualifier] = spec.functionName.split(':');
  const uuid = mapping.metadata.uid ?? '';
  const deleting = mapping.metadata.deletionTimestamp !== undefined;
  const state = deleting ? 'Deleting' : (status.state ?? 'Creating');
  const kafka = spec.source.kafka;
  const arn = eventSourceArnOf(mapping);
  const lastModified = Date.parse(status.lastModified ?? String(mapping.metadata.creationTimestamp ?? ''));
  const onFailure = spec.destinationConfig?.onFailure?.destination;
  return {
    UUID: uuid,
    EventSourceMappingArn: `arn:aws:lambda:${region}:${namespace}:event-source-mapping:${uuid}`,
    FunctionArn: functionArn(region, namespace, name, qualifier),
    ...(arn && { EventSourceArn: arn }),
    ...(kafka && {
      SelfManagedEventSource: { Endpoints: { KAFKA_BOOTSTRAP_SERVERS: kafka.bootstrapServers } },
      Topics: kafka.topics,
      SelfManagedKafkaEventSourceConfig: { ConsumerGroupId: kafka.consumerGroupId ?? uuid },
    }),
    State: state,
    StateTransitionReason: status.stateTransitionReason ?? 'USER_INITIATED',
    LastProcessingResult: status.lastProcessingResult ?? 'No records processed',
    ...(Number.isFinite(lastModified) && { LastModified: lastModified / 1000 }),
    ...(spec.batchSize !== undefined && { BatchSize: spec.batchSize }),
    ...(spec.maximumBatchingWindowInSeconds !== undefined && {
      MaximumBatchingWindowInSeconds: spec.maximumBatchingWindowInSeconds,
    }),
    ...(spec.startingPosition && { StartingPosition: spec.startingPosition }),
    ...(spec.startingPositionTimestamp && {
      StartingPositionTimestamp: Date.parse(spec.startingPositionTimestamp) / 1000,
    }),
    ...(spec.filterCriteria && {
      FilterCriteria: { Filters: spec.filterCriteria.filters.map((f) => ({ Pattern: f.pattern })) },
    }),
    ...(spec.functionResponseTypes && { FunctionResponseTypes: spec.functionResponseTypes }),
    ...(spec.maximumRetryAttempts !== undefined && { MaximumRetryAttempts: spec.maximumRetryAttempts }),
    ...(spec.maximumRecordAgeInSeconds !== undefined && {
      MaximumRecordAgeInSeconds: spec.maximumRecordAgeInSeconds,
    }),
    ...(spec.bisectBatchOnFunctionError !== undefined && {
      BisectBatchOnFunctionError: spec.bisectBatchOnFunctionError,
    }),
    ...(spec.parallelizationFactor !== undefined && { ParallelizationFactor: spec.parallelizationFactor }),
    ...(onFailure && {
      DestinationConfig: { OnFailure: { Destination: destinationOf(onFailure, region, namespace) } },
    }),
    ...(spec.scalingConfig && {
      ScalingConfig: { MaximumConcurrency: spec.scalingConfig.maximumConcurrency },
    }),
  };
}
