// Configuration is read once from the environment and validated with zod; a bad value stops
// the process with a message naming the variable. The programs' own schemas build on these.
import { z } from 'zod';

/** Env strings → numbers/booleans, so schemas can state real types and ranges. */
export const envInt = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

export const envBool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Invalid configuration: the entry points print the message and exit 2. */
export class ConfigError extends Error {}

/** `VARIABLE: problem` for each zod issue, joined in one line. */
export function configProblems(error: z.ZodError, emptyPath = ''): string {
  return error.issues.map((issue) => `${issue.path.join('.') || emptyPath}: ${issue.message}`).join('; ');
}

/** Parses `env` with a schema whose keys are the variable names; throws a ConfigError naming each bad one. */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.output<S> {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const result = schema.safeParse(present);
  if (result.success) return result.data;
  throw new ConfigError(`invalid configuration: ${configProblems(result.error, '(root)')}`);
}
