// Schema pieces shared by the four kinds. Each field is described once here; the CRD
// YAML, the TypeScript types and the operator's validation are all derived from it.
import { z } from 'zod';
import { MAX_UNZIPPED_BYTES, RESERVED_ENVIRONMENT_KEYS, RUNTIMES } from '../protocol/index.js';

export { RESERVED_ENVIRONMENT_KEYS, RUNTIMES };

export const GROUP = 'lamina.dev';
export const API_VERSION = 'v1alpha1';

/** Lambda's documented limits (LAMBDA-SPEC §4, §11). */
export const limits = {
  memorySize: { min: 128, max: 10240, default: 128 },
  timeout: { min: 1, max: 900, default: 3 },
  ephemeralStorage: { min: 512, max: 10240, default: 512 },
  layersPerFunction: 5,
  environmentBytes: 4096,
  unzippedBytes: MAX_UNZIPPED_BYTES,
  descriptionLength: 256,
  compatibleRuntimes: 15,
  compatibleArchitectures: 2,
  maxRetryAttempts: { min: 0, max: 2, default: 2 },
  maxEventAgeSeconds: { min: 60, max: 21_600, default: 21_600 },
} as const;

export const Runtime = z.enum(RUNTIMES).meta({
  description:
    'Lambda runtime identifier: nodejs18.x, nodejs20.x, nodejs24.x, python3.11, python3.13, python3.14, java17, java21, or provided / provided.al2023 (custom runtime).',
});
export type Runtime = z.infer<typeof Runtime>;

export const ARCHITECTURES = ['x86_64', 'arm64'] as const;

/**
 * A validation rule stated once for both places that enforce it: `rule` is the CEL the API
 * server evaluates (x-kubernetes-validations), `check` the same predicate for the operator
 * and the tests. Transition rules (on `oldSelf`) have no `check`: only the API server sees
 * the old object.
 */
export interface ValidationRule<T> {
  rule: string;
  message: string;
  check?: (value: T) => boolean;
  /** The field a failure is reported on (e.g. `handler`), when it is not the object itself. */
  field?: string;
}

export function withRules<S extends z.ZodType>(schema: S, rules: ValidationRule<z.output<S>>[]) {
  return schema
    .superRefine((value, ctx) => {
      for (const { check, message, field } of rules) {
        if (check && !check(value)) ctx.addIssue({ code: 'custom', message, path: field?.split('.') ?? [] });
      }
    })
    .meta({
      'x-kubernetes-validations': rules.map(({ rule, message, field }) => ({
        rule,
        message,
        ...(field && { fieldPath: `.${field}` }),
      })),
    });
}

/** A lowercase hex sha256, the identity of every zip in the artifact store. */
export const Sha256 = z
  .string()
  .regex(/^[a-f0-9]{64}$/)
  .meta({ description: 'Lowercase hex SHA-256 of the zip.' });

/** Kubernetes object name (DNS-1123 subdomain). */
export const ObjectName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);

/**
 * Where a zip comes from. Exactly one of: `inline` files (zipped deterministically by the
 * operator), a `zipUrl` (fetched once; checked against `sha256` when given), or `sha256`
 * alone (a zip already uploaded to Lamina's artifact store, e.g. with `lamina push`).
 */
export const CodeSource = withRules(
  z.object({
    inline: z.record(z.string().max(1024), z.string().max(262_144)).optional().meta({
      description: 'Files by path relative to the zip root, with their text content.',
      maxProperties: 100,
    }),
    zipUrl: z
      .string()
      .max(2048)
      .regex(/^https?:\/\/\S+$/)
      .optional()
      .meta({ description: 'HTTP(S) URL of a zip archive, fetched once and stored by digest.' }),
    sha256: Sha256.optional(),
  }),
  [
    {
      rule: '[has(self.inline), has(self.zipUrl), has(self.sha256) && !has(self.zipUrl)].filter(x, x).size() == 1',
      message:
        'set exactly one of inline, zipUrl (optionally with sha256), or sha256 (a zip in the artifact store)',
      check: (c) =>
        [c.inline !== undefined, c.zipUrl !== undefined, c.sha256 !== undefined && !c.zipUrl].filter(Boolean)
          .length === 1,
    },
    {
      rule: '!has(self.inline) || self.inline.all(k, !k.startsWith("/") && !k.contains("..") && !k.contains("\\\\"))',
      message: 'inline file names must be relative paths without ".." or backslashes',
      check: (c) =>
        Object.keys(c.inline ?? {}).every(
          (k) => !k.startsWith('/') && !k.includes('..') && !k.includes('\\'),
        ),
    },
  ],
);
export type CodeSource = z.infer<typeof CodeSource>;

/** Standard Kubernetes condition (metav1.Condition). */
export const Condition = z.object({
  type: z.string().max(316),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().max(1024),
  message: z.string().max(32_768).optional(),
  lastTransitionTime: z.string().max(64),
  observedGeneration: z.int().min(0).optional(),
});
export type Condition = z.infer<typeof Condition>;

export const Conditions = z
  .array(Condition)
  .max(16)
  .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] });

/** Lambda's provisioned-concurrency config status, as shown on a Version or Alias. */
export const ProvisionedConcurrencyStatus = z.object({
  requested: z.int().min(0),
  allocated: z.int().min(0),
  available: z.int().min(0),
  status: z.enum(['IN_PROGRESS', 'READY', 'FAILED']),
});

/** A layer version pinned by digest: what a function actually runs with. */
export const PinnedLayer = z.object({
  namespace: z.string().max(63),
  name: z.string().max(253),
  version: z.int().min(1),
  sha256: Sha256,
  size: z.int().min(0).optional().meta({ description: 'Zip size in bytes.' }),
  unzippedSize: z.int().min(0).optional(),
});
export type PinnedLayer = z.infer<typeof PinnedLayer>;

const ENV_KEY = /^[a-zA-Z][a-zA-Z0-9_]+$/;

/**
 * CEL for the bytes one entry `k` of `self.variables` adds to JSON.stringify(variables):
 * `"k":"v",` is the key and value (UTF-8) plus 6, and each character JSON escapes adds 1
 * (`"`, `\`, \b \t \n \f \r) or 5 (other control characters, written \u00XX). The map's
 * total is the sum plus 1 (two braces, one comma fewer than entries). Keys never need escaping.
 */
const ENTRY_JSON_BYTES = String.raw`size(k) + size(bytes(self.variables[k])) + 6 + size(self.variables[k].findAll(r'["\\\x08\x09\x0a\x0c\x0d]')) + 5 * size(self.variables[k].findAll(r'[\x00-\x07\x0b\x0e-\x1f]'))`;

export const Environment = withRules(
  z.object({
    variables: z.record(z.string().max(4096), z.string().max(4096)).optional().meta({
      description: 'Environment variables (at most 4 KB in total, measured as JSON).',
      maxProperties: 256,
    }),
    secretRefs: z
      .array(z.object({ name: ObjectName }))
      .max(8)
      .optional()
      .meta({ description: 'Secrets in the function namespace whose keys become environment variables.' }),
  }),
  [
    {
      rule: `!has(self.variables) || self.variables.all(k, k.matches('${ENV_KEY.source}'))`,
      message: 'environment variable names must match [a-zA-Z][a-zA-Z0-9_]+',
      check: (e) => Object.keys(e.variables ?? {}).every((k) => ENV_KEY.test(k)),
    },
    {
      rule: `!has(self.variables) || self.variables.map(k, ${ENTRY_JSON_BYTES}).sum() + 1 <= ${limits.environmentBytes}`,
      message: `environment variables exceed ${limits.environmentBytes} bytes in total (measured as JSON)`,
      check: (e) => environmentSize(e.variables) <= limits.environmentBytes,
      field: 'variables',
    },
    {
      rule: `!has(self.variables) || !self.variables.exists(k, k in ${JSON.stringify(RESERVED_ENVIRONMENT_KEYS)})`,
      message: `reserved environment variables cannot be set: ${RESERVED_ENVIRONMENT_KEYS.join(', ')}`,
      check: (e) =>
        !Object.keys(e.variables ?? {}).some((k) =>
          (RESERVED_ENVIRONMENT_KEYS as readonly string[]).includes(k),
        ),
    },
  ],
);
export type Environment = z.infer<typeof Environment>;

/** Lambda measures the 4 KB limit on the JSON string of the variables map. */
export function environmentSize(variables: Record<string, string> | undefined): number {
  return variables ? Buffer.byteLength(JSON.stringify(variables)) : 0;
}
