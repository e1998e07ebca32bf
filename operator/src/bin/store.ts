// The artifact store on its own (`node dist/operator/src/bin/store.js`), for clusters that
// run it as a separate Deployment instead of inside the operator.
import { ConfigError, createLogger, parseEnv } from '../shared/index.js';
import { startStore, storeConfigFrom, StoreEnv } from '../store/index.js';

const log = createLogger({ component: 'lamina-store' });
try {
  const config = storeConfigFrom(parseEnv(StoreEnv, process.env));
  const running = await startStore(config, log);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log.info('shutting down', { signal });
      void running.close().then(() => process.exit(0));
    });
  }
} catch (err) {
  log.error(err instanceof ConfigError ? err.message : 'artifact store failed to start', {
    error: String(err),
  });
  process.exit(1);
}
