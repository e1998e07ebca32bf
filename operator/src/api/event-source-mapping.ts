// EventSourceMapping: Lambda's pull model. A poller reads records from a stream or queue (or
// ticks of a schedule) and invokes a function with batches of them. The fields are Lambda's
// (CreateEventSourceMapping); `source` names where records come from, one of kafka, sqs,
// nats or schedule. Rules that a spec alone can refuse are CEL here; the rest is the
// reconciler's (the function must exist) or the poller's.
import { z } from 'zod';
import { Conditions, withRules } from './common.js';
import { Destination } from './function.js';

/** Lambda's bounds for event source mappings (CreateEventSourceMapping). */
export const esmLimits = {
  batchSize: { min: 1, max: 10_000, sqsWithoutWindow: 10, defaultQueue: 10, defaultStream: 100 },
  batchingWindowSeconds: { min: 0, max: 300 },
  maximumRetryAttempts: { min: -1, max: 10_000 },
  maximumRecordAgeSeconds: { min: 60, max: 604_800 },
  parallelizationFactor: { min: 1, max: 10 },
  maximumConcurrency: { min: 2, max: 1000 },
  filters: 5,
  filterPatternLength: 4096,
} as const;

export const STARTING_POSITIONS = ['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP'] as const;
export const ESM_STATES = [
  'Creating',
  'Enabling',
  'Enabled',
  'Disabling',
  'Disabled',
  'Updating',
  'Deleting',
] as const;
export const SOURCE_KINDS = ['kafka', 'sqs', 'nats', 'schedule'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

/** Self-managed Apache Kafka (Lambda's SelfManagedEventSource). */
export const KafkaSource = z.object({
  bootstrapServers: z
    .array(z.string().min(1).max(300))
    .min(1)
    .max(10)
    .meta({ description: 'host:port of the brokers to bootstrap from.' }),
  topics: z
    .array(z.string().min(1).max(249))
    .length(1)
    .meta({ description: 'Exactly one topic, as in Lambda.' }),
  consumerGroupId: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[a-zA-Z0-9-/*:_+=.@-]*$/)
    .optional()
    .meta({
      description:
        "The consumer group whose committed offsets are the mapping's position (default: the mapping's uid).",
    }),
});

/** A queue speaking the SQS API (AWS or any SQS-compatible server). */
export const SqsSource = z.object({
  queueUrl: z
    .string()
    .max(2048)
    .regex(/^https?:\/\/\S+$/),
  endpoint: z
    .string()
    .max(2048)
    .regex(/^https?:\/\/\S+$/)
    .optional()
    .meta({ description: 'The SQS API endpoint (default: the scheme and host of queueUrl).' }),
  region: z.string().min(1).max(64).optional(),
  credentialsSecret: z.string().min(1).max(253).optional().meta({
    description:
      'A Secret in the namespace with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the queue (none: anonymous).',
  }),
});

/** A NATS JetStream stream, read through a durable pull consumer per mapping. */
export const NatsSource = z.object({
  url: z
    .string()
    .max(2048)
    .regex(/^(nats|tls|wss?):\/\/\S+$/),
  stream: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[^.*>\s]+$/),
  subject: z.string().min(1).max(255).optional().meta({ description: 'Filter subject within the stream.' }),
  consumer: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[^.*>\s]+$/)
    .optional()
    .meta({ description: 'Durable consumer name (default: lamina-esm-<uid>).' }),
});

/** An EventBridge schedule expression: rate(value unit) or cron(six fields). */
export const SCHEDULE_EXPRESSION =
  /^(rate\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\)|cron\(\S+ \S+ \S+ \S+ \S+ \S+\))$/;

export const ScheduleSource = z.object({
  expression: z.string().max(256).regex(SCHEDULE_EXPRESSION).meta({
    description: 'rate(5 minutes), rate(1 hour) or cron(minutes hours day-of-month month day-of-week year).',
  }),
  timezone: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .meta({ description: 'IANA time zone of cron() (default UTC).' }),
  input: z.string().max(8192).optional().meta({
    description:
      "Constant JSON sent instead of EventBridge's Scheduled Event, as an EventBridge target's Input.",
  }),
});

export const MappingSource = withRules(
  z.object({
    kafka: KafkaSource.optional(),
    sqs: SqsSource.optional(),
    nats: NatsSource.optional(),
    schedule: ScheduleSource.optional(),
  }),
  [
    {
      rule: '[has(self.kafka), has(self.sqs), has(self.nats), has(self.schedule)].filter(x, x).size() == 1',
      message: 'set exactly one source: kafka, sqs, nats or schedule',
      check: (s) => SOURCE_KINDS.filter((k) => s[k] !== undefined).length === 1,
    },
  ],
);
export type MappingSource = z.infer<typeof MappingSource>;

const Filter = z.object({ pattern: z.string().min(1).max(esmLimits.filterPatternLength) });

type Spec = {
  source: MappingSource;
  batchSize?: number;
  maximumBatchingWindowInSeconds?: number;
  startingPosition?: string;
  startingPositionTimestamp?: string;
  maximumRetryAttempts?: number;
  maximumRecordAgeInSeconds?: number;
  bisectBatchOnFunctionError?: boolean;
  parallelizationFactor?: number;
  destinationConfig?: unknown;
  scalingConfig?: unknown;
  filterCriteria?: unknown;
  functionResponseTypes?: string[];
};
const isStream = (s: Spec) => s.source.kafka !== undefined || s.source.nats !== undefined;

export const EventSourceMappingSpec = withRules(
  z.object({
    functionName: z
      .string()
      .min(1)
      .max(170)
      .regex(/^[a-zA-Z0-9-_.]{1,64}(:(\$LATEST|[a-zA-Z0-9-_]{1,128}))?$/)
      .meta({
        description: 'The function in this namespace, with an optional version or alias: name[:qualifier].',
      }),
    enabled: z.boolean().default(true),
    source: MappingSource,
    batchSize: z.int().min(esmLimits.batchSize.min).max(esmLimits.batchSize.max).optional().meta({
      description: 'Records per invoke at most (default 10 for sqs, 100 for kafka and nats).',
    }),
    maximumBatchingWindowInSeconds: z
      .int()
      .min(esmLimits.batchingWindowSeconds.min)
      .max(esmLimits.batchingWindowSeconds.max)
      .optional()
      .meta({
        description: 'How long to gather records before invoking with less than batchSize (default 0).',
      }),
    startingPosition: z.enum(STARTING_POSITIONS).optional(),
    startingPositionTimestamp: z.iso.datetime({ offset: true }).optional(),
    filterCriteria: z
      .object({ filters: z.array(Filter).max(esmLimits.filters) })
      .optional()
      .meta({ description: "Lambda's filter patterns: a record is delivered when any pattern matches it." }),
    functionResponseTypes: z
      .array(z.enum(['ReportBatchItemFailures']))
      .max(1)
      .optional(),
    maximumRetryAttempts: z
      .int()
      .min(esmLimits.maximumRetryAttempts.min)
      .max(esmLimits.maximumRetryAttempts.max)
      .optional()
      .meta({ description: 'Retries of a failed batch; -1 (default) retries until the record expires.' }),
    maximumRecordAgeInSeconds: z.int().min(-1).max(esmLimits.maximumRecordAgeSeconds.max).optional().meta({
      description: 'Records older than this are not invoked: -1 (default, unlimited) or 60–604800.',
    }),
    bisectBatchOnFunctionError: z.boolean().optional(),
    parallelizationFactor: z
      .int()
      .min(esmLimits.parallelizationFactor.min)
      .max(esmLimits.parallelizationFactor.max)
      .optional()
      .meta({ description: 'Concurrent batches per partition (streams), default 1.' }),
    destinationConfig: z.object({ onFailure: Destination.optional() }).optional(),
    scalingConfig: z
      .object({
        maximumConcurrency: z
          .int()
          .min(esmLimits.maximumConcurrency.min)
          .max(esmLimits.maximumConcurrency.max),
      })
      .optional()
      .meta({ description: 'sqs: concurrent invokes the mapping may use at most.' }),
  }),
  [
    {
      rule: '!has(self.maximumRecordAgeInSeconds) || self.maximumRecordAgeInSeconds == -1 || self.maximumRecordAgeInSeconds >= 60',
      message: 'maximumRecordAgeInSeconds must be -1 or between 60 and 604800',
      check: (s) =>
        s.maximumRecordAgeInSeconds === undefined ||
        s.maximumRecordAgeInSeconds === -1 ||
        s.maximumRecordAgeInSeconds >= esmLimits.maximumRecordAgeSeconds.min,
    },
    {
      rule: '!has(self.startingPositionTimestamp) || (has(self.startingPosition) && self.startingPosition == "AT_TIMESTAMP")',
      message: 'startingPositionTimestamp is only for startingPosition AT_TIMESTAMP',
      check: (s) => s.startingPositionTimestamp === undefined || s.startingPosition === 'AT_TIMESTAMP',
    },
    {
      rule: '!has(self.startingPosition) || self.startingPosition != "AT_TIMESTAMP" || has(self.startingPositionTimestamp)',
      message: 'startingPosition AT_TIMESTAMP needs startingPositionTimestamp',
      check: (s) => s.startingPosition !== 'AT_TIMESTAMP' || s.startingPositionTimestamp !== undefined,
    },
    {
      rule: '!(has(self.source.kafka) || has(self.source.nats)) || has(self.startingPosition)',
      message: 'startingPosition is required for kafka and nats sources',
      check: (s) => !isStream(s) || s.startingPosition !== undefined,
    },
    {
      rule: '!(has(self.source.sqs) || has(self.source.schedule)) || !has(self.startingPosition)',
      message: 'startingPosition is only for kafka and nats sources',
      check: (s) => isStream(s) || s.startingPosition === undefined,
    },
    {
      rule: '!has(self.source.sqs) || !has(self.batchSize) || self.batchSize <= 10 || (has(self.maximumBatchingWindowInSeconds) && self.maximumBatchingWindowInSeconds >= 1)',
      message: 'an sqs batchSize above 10 needs maximumBatchingWindowInSeconds of at least 1',
      check: (s) =>
        s.source.sqs === undefined ||
        (s.batchSize ?? 0) <= esmLimits.batchSize.sqsWithoutWindow ||
        (s.maximumBatchingWindowInSeconds ?? 0) >= 1,
    },
    {
      rule: '!has(self.source.sqs) || !(has(self.maximumRetryAttempts) || has(self.maximumRecordAgeInSeconds) || has(self.bisectBatchOnFunctionError) || has(self.parallelizationFactor) || has(self.destinationConfig))',
      message:
        'maximumRetryAttempts, maximumRecordAgeInSeconds, bisectBatchOnFunctionError, parallelizationFactor and destinationConfig are for streams: an sqs queue retries and dead-letters by its own redrive policy',
      check: (s) =>
        s.source.sqs === undefined ||
        [
          s.maximumRetryAttempts,
          s.maximumRecordAgeInSeconds,
          s.bisectBatchOnFunctionError,
          s.parallelizationFactor,
          s.destinationConfig,
        ].every((v) => v === undefined),
    },
    {
      rule: 'has(self.source.sqs) || !has(self.scalingConfig)',
      message: 'scalingConfig is only for sqs sources',
      check: (s) => s.source.sqs !== undefined || s.scalingConfig === undefined,
    },
    {
      rule: '!has(self.source.schedule) || !(has(self.batchSize) || has(self.maximumBatchingWindowInSeconds) || has(self.filterCriteria) || has(self.functionResponseTypes) || has(self.bisectBatchOnFunctionError) || has(self.parallelizationFactor))',
      message:
        'a schedule delivers one event per tick: batchSize, maximumBatchingWindowInSeconds, filterCriteria, functionResponseTypes, bisectBatchOnFunctionError and parallelizationFactor do not apply',
      check: (s) =>
        s.source.schedule === undefined ||
        [
          s.batchSize,
          s.maximumBatchingWindowInSeconds,
          s.filterCriteria,
          s.functionResponseTypes,
          s.bisectBatchOnFunctionError,
          s.parallelizationFactor,
        ].every((v) => v === undefined),
    },
  ],
);
export type EventSourceMappingSpec = z.infer<typeof EventSourceMappingSpec>;

export const EventSourceMappingStatus = z.object({
  observedGeneration: z.int().min(0).optional(),
  state: z.enum(ESM_STATES).optional(),
  stateTransitionReason: z.string().max(1024).optional(),
  lastProcessingResult: z.string().max(1024).optional(),
  lastModified: z.string().max(64).optional(),
  source: z.string().max(2048).optional().meta({
    description:
      'Where records come from, for people: kafka topic, sqs queue URL, nats stream or schedule expression.',
  }),
  conditions: Conditions.optional(),
  lastTick: z.string().max(64).optional().meta({
    description: 'schedule: the last tick claimed for delivery (RFC 3339); a tick is delivered at most once.',
  }),
});
export type EventSourceMappingStatus = z.infer<typeof EventSourceMappingStatus>;
