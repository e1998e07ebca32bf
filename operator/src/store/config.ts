// Configuration is read once from the environment and validated with zod; a bad value stops
// the process with a message naming the variable. The operator's config extends this one.
import { z } from 'zod';
import { limits } from '../api/index.js';

/** Env strings → numbers/booleans, so schemas can state real types and ranges. */
export const envInt = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

export const envBool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

export class ConfigError extends Error {}

/** Parses `env` with a schema whose keys are the variable names; throws a ConfigError naming each bad one. */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.output<S> {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const result = schema.safeParse(present);
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
  );
  throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
}

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
