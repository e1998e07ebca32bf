// The function configuration the gateway hands an environment (env LAMINA_FUNCTION or
// POST /lamina/v1/specialize): one zod schema, parsed by the agent, built by the gateway.
import { z } from 'zod';

/**
 * The runtimes Lamina serves, each from an image whose interpreter is exactly that line
 * (runtime-images.ts). `provided*` run a `bootstrap`. Lambda identifiers not listed (e.g.
 * nodejs22.x: no Debian release ships Node.js 22) are refused with this list.
 */
export const RUNTIMES = [
  'nodejs18.x',
  'nodejs20.x',
  'nodejs24.x',
  'python3.11',
  'python3.13',
  'python3.14',
  'java17',
  'java21',
  'provided',
  'provided.al2023',
] as const;
export type RuntimeId = (typeof RUNTIMES)[number];

/** Lambda's limit for a function plus its layers, unzipped [LAMBDA-SPEC §4]. */
export const MAX_UNZIPPED_BYTES = 262_144_000;

/** Environment variables Lambda reserves [LAMBDA-SPEC §3]; users may not set them. */
export const RESERVED_ENVIRONMENT_KEYS = [
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
  'TZ',
] as const;

const RESERVED_ENV_KEYS: ReadonlySet<string> = new Set(RESERVED_ENVIRONMENT_KEYS);

const ENV_KEY = /^[a-zA-Z]([a-zA-Z0-9_])+$/;

const sha256Hex = z.string().regex(/^[a-f0-9]{64}$/, 'must be 64 lowercase hex characters (a sha256 digest)');

/**
 * A zip up to this size may travel inside the specialisation request (`inline`, base64)
 * instead of being fetched by the agent; the agent verifies its digest all the same.
 */
export const MAX_INLINE_ARTIFACT_BYTES = 256 * 1024;

const artifact = z.object({
  url: z
    .string()
    .refine(
      (value) => /^(https?|file):\/\//.test(value) && URL.canParse(value),
      'must be an http(s):// or file:// URL',
    ),
  sha256: sha256Hex,
  inline: z
    .base64()
    .max(Math.ceil(MAX_INLINE_ARTIFACT_BYTES / 3) * 4)
    .optional(),
});

export const INITIALIZATION_TYPES = ['on-demand', 'provisioned-concurrency'] as const;
export type InitializationType = (typeof INITIALIZATION_TYPES)[number];

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
    // Image: the function's own container runs the runtime (pod-spec.ts); the agent beside it
    // serves the Runtime API and downloads nothing. `runtime` is then only a label.
    packageType: z.enum(['Zip', 'Image']).default('Zip'),
    code: artifact.optional(),
    layers: z.array(artifact).max(5).default([]),
    functionArn: z.string().min(1),
    region: z.string().min(1).default('us-east-1'),
    initializationType: z.enum(INITIALIZATION_TYPES).default('on-demand'),
    maxUnzippedBytes: z.number().int().positive().default(MAX_UNZIPPED_BYTES),
  })
  .refine((config) => config.runtime.startsWith('provided') || config.handler !== undefined, {
    path: ['handler'],
    message: 'is required for the Node.js, Python and Java runtimes',
  })
  .refine((config) => config.packageType === 'Image' || config.code !== undefined, {
    path: ['code'],
    message: 'is required for a zip function',
  });

/** A validated configuration, as the agent runs it and as the gateway sends it (all defaults filled). */
export type FunctionConfig = z.infer<typeof functionConfigSchema>;
