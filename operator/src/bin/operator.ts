// `npm run operator` / the operator container's entrypoint: configuration from the
// environment, then the operator until SIGTERM. Losing the leader lease exits the process
// (exit code 1) so Kubernetes restarts it with clean state, as client-go controllers do.
import { operatorConfigFromEnv, startOperator } from '../controller/index.js';
import {
  eventSourcesConfigFromEnv,
  kafkaAdapter,
  natsSource,
  sqsAdapter,
  startEventSources,
} from '../event-sources/index.js';
import { loadKubeConfig } from '../kube/index.js';
import { ConfigError, createLogger, systemClock } from '../shared/index.js';

const log = createLogger({ component: 'lamina-operator' });

try {
  const config = operatorConfigFromEnv();
  const sources = eventSourcesConfigFromEnv();
  const operator = await startOperator(config, {
    kc: loadKubeConfig(),
    log,
    defaultMetrics: true,
    // Event source mappings are polled by the leader only (docs/event-sources.md).
    ...(sources.enabled && {
      whileLeading: (manager, registry) =>
        startEventSources(sources, {
          registry,
          mappings: manager.watched.eventsourcemappings,
          functions: manager.watched.functions,
          client: manager.clients.eventsourcemappings,
          sources: { nats: natsSource, sqs: sqsAdapter, kafka: kafkaAdapter },
          clock: systemClock,
          log: log.child({ component: 'event-sources' }),
        }),
    }),
    onLostLeadership: () => {
      log.error('lost the leader lease; exiting so a clean replica takes over');
      process.exit(1);
    },
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log.info('shutting down', { signal });
      void operator.stop().then(() => process.exit(0));
    });
  }
} catch (err) {
  log.error(err instanceof ConfigError ? err.message : 'operator failed to start', { error: String(err) });
  process.exit(1);
}
