// The function configuration the gateway hands an environment (env LAMINA_FUNCTION or
// POST /lamina/v1/specialize). Parsed once with zod; anything invalid is refused with a
// message naming the field, before any download starts.
import { z } from 'zod';
import { InvalidConfigError } from './errors.js';
import { RESERVED_ENVIRONMENT_KEYS, RUNTIMES } from '../../../operator/src/api/common.js';
import { MAX_UNZIPPED_BYTES } from './zip.js';

export { RUNTIMES };
export type RuntimeId = (typeof RUNTIMES)[number];

/** Variables the platform owns [LAMBDA-SPEC §3]: a configuration that sets one is refused, as Lambda refuses it. */
export const RESERVED_ENV_KEYS: ReadonlySet<string> = new Set(RESERVED_ENVIRONMENT_KEYS);

const ENV_KEY = /^[a-zA-Z]([a-zA-Z0-9_])+$/;

const sha256Hex = z.string().regex(/^[a-f0-9]{64}$/, 'must be 64 lowercase hex characters (a sha256 digest)');

const artifact = z.object({
  url: z
    .string()
    .refine(
      (value) => /^(https?|file):\/\//.test(value) && URL.canParse(value),
      'must be an http(s):// or file:// URL',
    ),
  sha256: sha256Hex,
});

export const functionConfigSchema = z
  .object({
    functionName: z.string().regex(/^[a-zA-Z0-9._-]{1,64}$/, 'must be 1-64 characters of [a-zA-Z0-9._-]'),
    namespace: z.string().min(1).max(253),
    version: z.string().regex(/^(\$LATEST|[0-9]+)$/, "must be '$LATEST' or a version number"),
    runtime: z.enum(RUNTIMES),
    // Custom runtimes (provided*) may have no handler: their bootstrap decides what runs.
    handler: z
      .string()
      .regex(/^\S{1,128}$/, 'must be 1-128 characters without whitespace')
      .optional(),
    memorySize: z.number().int().min(128).max(10240),
    timeout: z.number().int().min(1).max(900),
    environment: z
      .record(z.string(), z.string())
      .default({})
      .superRefine((env, ctx) => {
        const keys = Object.keys(env);
        const reserved = keys.filter((key) => RESERVED_ENV_KEYS.has(key));
        if (reserved.length > 0) {
          ctx.addIssue({
            code: 'custom',
            message:
              'Lambda was unable to configure your environment variables because the environment variables you have ' +
              'provided contains reserved keys that are currently not supported for modification. Reserved keys used ' +
              `in this request: ${reserved.join(', ')}`,
          });
        }
        for (const key of keys.filter((k) => !RESERVED_ENV_KEYS.has(k) && !ENV_KEY.test(k))) {
          ctx.addIssue({ code: 'custom', path: [key], message: `key must match ${ENV_KEY.source}` });
        }
      }),
    code: artifact,
    layers: z.array(artifact).max(5).default([]),
    functionArn: z.string().min(1),
    region: z.string().min(1).default('us-east-1'),
    initializationType: z.enum(['on-demand', 'provisioned-concurrency']).default('on-demand'),
    maxUnzippedBytes: z.number().int().positive().default(MAX_UNZIPPED_BYTES),
  })
  .refine((config) => config.runtime.startsWith('provided') || config.handler !== undefined, {
    path: ['handler'],
    message: 'is required for runtime nodejs20.x and python3.13',
  });

export type FunctionConfig = z.infer<typeof functionConfigSchema>;

/** Validates untrusted JSON (already parsed) into a FunctionConfig or throws InvalidConfigError. */
export function parseFunctionConfig(input: unknown): FunctionConfig {
  const result = functionConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const where = issue.path.length > 0 ? issue.path.join('.') : '(root)';
    return `${where}: ${issue.message}`;
  });
  throw new InvalidConfigError(`Invalid function configuration: ${problems.join('; ')}`);
}

/** Parses the JSON text of a configuration (env var or request body). */
export function parseFunctionConfigJson(text: string): FunctionConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidConfigError(`Invalid function configuration: not JSON (${(err as Error).message})`);
  }
  return parseFunctionConfig(value);
}
