// Event source mappings: pollers that read records from Kafka, SQS-compatible queues, NATS
// JetStream or a schedule and invoke functions with batches of them, as Lambda does.
export * from './source.js';
export * from './decisions.js';
export * from './filter-pattern.js';
export * from './schedule-expression.js';
export * from './config.js';
export * from './invoke-client.js';
export { natsSource } from './nats.js';
export { sqsAdapter, type SqsRecord } from './sqs.js';
export { kafkaAdapter, type KafkaRecord } from './kafka.js';
export * from './run.js';
export * from './metrics.js';
