// The event servers that event-source tests read from — Apache Kafka 4 (KRaft), an
// SQS-compatible queue (ElasticMQ) and NATS with JetStream — running as pods in the e2e cluster, built from the
// registries by scripts/event-servers/up.sh. The script is idempotent (seconds when they
// already run), so every test file calls ensureEventServers() before its first test. A
// server that does not get ready fails the call with its pod's log tail.
import { provision } from './provision.js';

export type EventServer = 'kafka' | 'sqs' | 'nats';

export interface EventServers {
  kubeconfigPath: string;
  /** host:port of the Kafka Service, reachable from this machine and from pods. */
  kafkaBootstrap?: string;
  /** The SQS API endpoint (http://<Service address>:9324), from this machine and from pods. */
  sqsEndpoint?: string;
  /** nats://<Service address>:4222, from this machine and from pods. */
  natsUrl?: string;
}

/** Namespace and in-cluster names, for mappings that pods (the pollers) resolve. */
export const EVENT_SERVERS_NAMESPACE = 'lamina-events';
export const KAFKA_IN_CLUSTER = 'kafka.lamina-events.svc.cluster.local:9092';
export const SQS_IN_CLUSTER = 'http://sqs.lamina-events.svc.cluster.local:9324';

export async function ensureEventServers(servers: EventServer[]): Promise<EventServers> {
  const values = await provision('scripts/event-servers/up.sh', [...servers].sort());
  return {
    kubeconfigPath: values.KUBECONFIG!,
    kafkaBootstrap: values.KAFKA_BOOTSTRAP,
    sqsEndpoint: values.SQS_ENDPOINT,
    natsUrl: values.NATS_URL,
  };
}
