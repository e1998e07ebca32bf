// Starts the artifact store: the BlobStore on its directory behind the HTTP server. Used by
// the operator (embedded, the default) and by `main.ts` (the store alone).
import type { Logger } from '../shared/index.js';
import { BlobStore } from './blob-store.js';
import { kubernetesStoreAccess } from './auth.js';
import type { StoreConfig } from './config.js';
import { buildStoreServer } from './server.js';

export interface RunningStore {
  store: BlobStore;
  /** The base URL it listens on (with the real port when 0 was asked for). */
  url: string;
  close(): Promise<void>;
}

export async function startStore(config: StoreConfig, log: Logger): Promise<RunningStore> {
  const store = new BlobStore(config);
  const app = buildStoreServer({
    store,
    maxZipBytes: config.maxZipBytes,
    log,
    ...(config.downloadKey ? { downloadKey: config.downloadKey } : {}),
    ...(config.auth?.mode === 'kubernetes'
      ? { access: kubernetesStoreAccess({ audiences: config.auth.audiences, log }) }
      : {}),
  });
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info('artifact store listening', { url, directory: config.directory });
  return { store, url, close: () => app.close() };
}
