// The artifact store's configuration (LAMINA_STORE_*). The operator's config extends it: the
// operator runs the store in-process when no external one is configured.
import { z } from 'zod';
import { limits } from '../api/index.js';
import { envInt } from '../shared/index.js';

export const StoreEnv = z.object({
  LAMINA_STORE_DIR: z.string().min(1).default('/var/lib/lamina/store'),
  LAMINA_STORE_HOST: z.string().min(1).default('0.0.0.0'),
  LAMINA_STORE_PORT: envInt(8090, 0, 65_535),
  LAMINA_STORE_MAX_ZIP_BYTES: envInt(50 * 1024 * 1024, 1),
  LAMINA_MAX_UNZIPPED_BYTES: envInt(limits.unzippedBytes, 1),
  /** Writes (upload, delete, list) need a Kubernetes token RBAC allows (see store/auth.ts). */
  LAMINA_STORE_AUTH: z.enum(['none', 'kubernetes']).default('none'),
  /** Comma-separated token audiences to require (empty: the API server's own). */
  LAMINA_STORE_AUTH_AUDIENCES: z.string().default(''),
  /** Key of the signed, expiring download URLs the gateway hands out (GetFunction Code.Location). */
  LAMINA_STORE_DOWNLOAD_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
});

export interface StoreConfig {
  directory: string;
  host: string;
  port: number;
  maxZipBytes: number;
  maxUnzippedBytes: number;
  /** Absent means `none`. */
  auth?: { mode: 'none' | 'kubernetes'; audiences: string[] };
  /** Serves signed download URLs when set. */
  downloadKey?: string;
}

export function storeConfigFrom(env: z.output<typeof StoreEnv>): StoreConfig {
  return {
    directory: env.LAMINA_STORE_DIR,
    host: env.LAMINA_STORE_HOST,
    port: env.LAMINA_STORE_PORT,
    maxZipBytes: env.LAMINA_STORE_MAX_ZIP_BYTES,
    maxUnzippedBytes: env.LAMINA_MAX_UNZIPPED_BYTES,
    auth: {
      mode: env.LAMINA_STORE_AUTH,
      audiences: env.LAMINA_STORE_AUTH_AUDIENCES.split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    },
    ...(env.LAMINA_STORE_DOWNLOAD_KEY ? { downloadKey: env.LAMINA_STORE_DOWNLOAD_KEY } : {}),
  };
}
