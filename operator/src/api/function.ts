// Function: Lambda's $LATEST — the mutable function definition users `kubectl apply`.
import { z } from 'zod';
import {
  CodeSource,
  Conditions,
  Environment,
  PinnedLayer,
  Runtime,
  Sha256,
  limits,
  withRules,
} from './common.js';
import { ImageSource } from './image.js';
import { FunctionNetwork } from './network.js';

/** A layer by name and version; `namespace/name` names a layer shared from another namespace. */
export const LayerReference = z.object({
  name: z
    .string()
    .max(317)
    .regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?\/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/)
    .meta({ description: 'Layer name, or namespace/name for a layer shared from another namespace.' }),
  version: z.int().min(1).meta({ description: 'Layer version to pin.' }),
});
export type LayerReference = z.infer<typeof LayerReference>;

/** An async destination or dead-letter target: a function in the namespace, or an http(s) URL. */
const DESTINATION = /^(function:[a-zA-Z0-9-_.]+(:[a-zA-Z0-9-_$]+)?|https?:\/\/\S+)$/;

/** A destination for async results: another function (`function:name[:qualifier]`) or an HTTP(S) URL. */
export const Destination = z.object({
  destination: z
    .string()
    .max(1024)
    .regex(DESTINATION)
    .meta({ description: 'function:<name>[:<qualifier>] in the same namespace, or an http(s) URL.' }),
});

export const AsyncInvokeConfig = z.object({
  maximumRetryAttempts: z
    .int()
    .min(limits.maxRetryAttempts.min)
    .max(limits.maxRetryAttempts.max)
    .default(limits.maxRetryAttempts.default),
  maximumEventAgeInSeconds: z
    .int()
    .min(limits.maxEventAgeSeconds.min)
    .max(limits.maxEventAgeSeconds.max)
    .default(limits.maxEventAgeSeconds.default),
  destinationConfig: z
    .object({ onSuccess: Destination.optional(), onFailure: Destination.optional() })
    .optional(),
});
export type AsyncInvokeConfig = z.infer<typeof AsyncInvokeConfig>;

const CorsConfig = z.object({
  allowOrigins: z.array(z.string().max(253)).max(100).optional(),
  allowMethods: z.array(z.string().max(6)).max(6).optional(),
  allowHeaders: z.array(z.string().max(1024)).max(100).optional(),
  exposeHeaders: z.array(z.string().max(1024)).max(100).optional(),
  allowCredentials: z.boolean().optional(),
  maxAge: z.int().min(0).max(86_400).optional(),
});

export const FunctionUrlConfig = z.object({
  authType: z
    .enum(['NONE', 'KUBERNETES'])
    .default('NONE')
    .meta({ description: 'NONE: public; KUBERNETES: a bearer token allowed to `invoke` this function.' }),
  invokeMode: z.enum(['BUFFERED', 'RESPONSE_STREAM']).default('BUFFERED').meta({
    description: 'BUFFERED: the whole response at once; RESPONSE_STREAM: chunks as the function writes them.',
  }),
  payloadFormatVersion: z
    .enum(['2.0', '1.0'])
    .default('2.0')
    .meta({ description: '2.0: Lambda function URL event; 1.0: API Gateway REST proxy event.' }),
  cors: CorsConfig.optional(),
});
export type FunctionUrlConfig = z.infer<typeof FunctionUrlConfig>;

/** Node.js and Python load `<module>.<function>`: a module path, a dot, then the export. */
const MODULE_HANDLER = /^[^\s.][^\s]*\.[^\s.]+$/;
/** Java: `package.Class::method`, or `package.Class` (a RequestHandler / RequestStreamHandler). */
const JAVA_HANDLER = /^[A-Za-z_$][A-Za-z0-9_$.]*(::[A-Za-z_$][A-Za-z0-9_$]*)?$/;

export const FunctionSpec = withRules(
  z.object({
    description: z.string().max(limits.descriptionLength).optional(),
    runtime: Runtime.optional(),
    handler: z
      .string()
      .max(128)
      .regex(/^[^\s]+$/)
      .optional()
      .meta({ description: 'module.export (e.g. index.handler); optional for provided runtimes.' }),
    code: CodeSource.optional().meta({
      description: 'The zip (PackageType Zip). Exactly one of code and image.',
    }),
    image: ImageSource.optional().meta({
      description: 'A container image whose entry point talks to the Runtime API (PackageType Image).',
    }),
    layers: z
      .array(LayerReference)
      .max(limits.layersPerFunction)
      .optional()
      .meta({
        description: `Up to ${limits.layersPerFunction} layers, extracted into /opt in order (later files win).`,
      }),
    memorySize: z
      .int()
      .min(limits.memorySize.min)
      .max(limits.memorySize.max)
      .default(limits.memorySize.default),
    timeout: z.int().min(limits.timeout.min).max(limits.timeout.max).default(limits.timeout.default),
    ephemeralStorage: z
      .object({
        size: z
          .int()
          .min(limits.ephemeralStorage.min)
          .max(limits.ephemeralStorage.max)
          .default(limits.ephemeralStorage.default),
      })
      .optional()
      .meta({ description: 'Size of /tmp in MB.' }),
    environment: Environment.optional(),
    serviceAccountName: z
      .string()
      .max(253)
      .optional()
      .meta({ description: "The execution role: the pod's service account. None means no API token." }),
    network: FunctionNetwork.optional(),
    reservedConcurrentExecutions: z.int().min(0).optional().meta({
      description: 'Reserved concurrency: floor and ceiling for all versions. 0 throttles every invoke.',
    }),
    functionUrl: FunctionUrlConfig.optional(),
    asyncInvoke: AsyncInvokeConfig.optional(),
    deadLetterConfig: z
      .object({ targetArn: z.string().max(1024).regex(DESTINATION) })
      .optional()
      .meta({
        description: 'Where async events go after their last failed attempt (same forms as destinations).',
      }),
    publish: z.boolean().default(false).meta({ description: 'Publish a Version on every change.' }),
  }),
  [
    {
      rule: '[has(self.code), has(self.image)].filter(x, x).size() == 1',
      message: 'set exactly one of code (a zip) or image (a container image)',
      check: (spec) => (spec.code === undefined) !== (spec.image === undefined),
    },
    {
      rule: '!has(self.image) || (!has(self.runtime) && !has(self.handler) && !has(self.layers))',
      message:
        'an image function takes its runtime, handler and layers from the image: leave runtime, handler and layers out (use image.imageConfig)',
      check: (spec) =>
        spec.image === undefined ||
        (spec.runtime === undefined && spec.handler === undefined && spec.layers === undefined),
    },
    {
      rule: '!has(self.code) || has(self.runtime)',
      message: 'runtime is required for a zip function',
      check: (spec) => spec.code === undefined || spec.runtime !== undefined,
      field: 'runtime',
    },
    {
      rule: '!has(self.runtime) || self.runtime.startsWith("provided") || has(self.handler)',
      message: 'handler is required for the Node.js, Python and Java runtimes',
      check: (spec) => !spec.runtime || spec.runtime.startsWith('provided') || spec.handler !== undefined,
    },
    {
      rule: `!has(self.runtime) || self.runtime.startsWith("provided") || self.runtime.startsWith("java") || !has(self.handler) || self.handler.matches(r'${MODULE_HANDLER.source}')`,
      message: 'handler must be <module>.<function> (e.g. index.handler) for the Node.js and Python runtimes',
      check: (spec) =>
        !spec.runtime ||
        spec.runtime.startsWith('provided') ||
        spec.runtime.startsWith('java') ||
        spec.handler === undefined ||
        MODULE_HANDLER.test(spec.handler),
      field: 'handler',
    },
    {
      rule: `!has(self.runtime) || !self.runtime.startsWith("java") || !has(self.handler) || self.handler.matches(r'${JAVA_HANDLER.source}')`,
      message: 'handler must be <package.Class>::<method> or <package.Class> for the Java runtimes',
      check: (spec) =>
        !spec.runtime ||
        !spec.runtime.startsWith('java') ||
        spec.handler === undefined ||
        JAVA_HANDLER.test(spec.handler),
      field: 'handler',
    },
    {
      rule: '!has(self.layers) || self.layers.all(l, self.layers.exists_one(m, m.name == l.name))',
      message: 'a layer can be listed only once (two versions of the same layer cannot be used together)',
      check: (spec) => new Set((spec.layers ?? []).map((l) => l.name)).size === (spec.layers ?? []).length,
      field: 'layers',
    },
  ],
);
export type FunctionSpec = z.infer<typeof FunctionSpec>;

export const FUNCTION_STATES = ['Pending', 'Active', 'Failed'] as const;

export const FunctionStatus = z.object({
  observedGeneration: z.int().min(0).optional(),
  state: z.enum(FUNCTION_STATES).optional(),
  stateReasonCode: z.string().max(128).optional(),
  stateReason: z.string().max(4096).optional(),
  lastUpdateStatus: z.enum(['InProgress', 'Successful', 'Failed']).optional(),
  conditions: Conditions.optional(),
  codeSha256: Sha256.optional(),
  codeSize: z.int().min(0).optional(),
  resolvedImageUri: z.string().max(1024).optional().meta({
    description:
      'Image functions: spec.image.uri pinned to the digest its tag had at the last change or resolution asked for.',
  }),
  imageResolvedFor: z.string().max(1024).optional().meta({
    description:
      'Image functions: the value of the annotation lamina.dev/resolve-image the tag was last resolved for (a new value asks for the tag to be resolved again).',
  }),
  revisionId: z.string().max(128).optional(),
  layers: z.array(PinnedLayer).max(limits.layersPerFunction).optional(),
  latestVersion: z.string().max(16).optional().meta({ description: 'Newest published version number.' }),
  url: z.string().max(2048).optional(),
  lastModified: z.string().max(64).optional(),
});
export type FunctionStatus = z.infer<typeof FunctionStatus>;
