// Lambda's control-plane request bodies (botocore service-2.json shapes) as zod schemas, and
// the one function that turns a failed parse into Lambda's error: a member of the wrong type
// is an InvalidParameterValueException, a missing or out-of-range one a ValidationException
// in Lambda's "1 validation error detected: …" form. Fields Lamina cannot honour are declared
// so that `function-spec.ts` can name them instead of silently dropping them.
import { z } from 'zod';
import {
  InvalidParameterValueException,
  InvalidRequestContentException,
  ValidationException,
} from '../errors.js';

const EnvironmentShape = z.object({ Variables: z.record(z.string(), z.string()).optional() });

const FunctionCode = z.object({
  ZipFile: z.string().optional(),
  S3Bucket: z.string().optional(),
  S3Key: z.string().optional(),
  S3ObjectVersion: z.string().optional(),
  ImageUri: z.string().optional(),
  SourceKMSKeyArn: z.string().optional(),
});

/** Configuration members shared by CreateFunction and UpdateFunctionConfiguration. */
const configurationMembers = {
  Runtime: z.string().optional(),
  Role: z.string().max(2048).optional(),
  Handler: z.string().max(128).optional(),
  Description: z.string().max(256).optional(),
  Timeout: z.int().min(1).optional(),
  MemorySize: z.int().min(128).max(32_768).optional(),
  Environment: EnvironmentShape.optional(),
  Layers: z.array(z.string().max(2048)).optional(),
  DeadLetterConfig: z.object({ TargetArn: z.string().max(1024).optional() }).optional(),
  EphemeralStorage: z.object({ Size: z.int().min(512).max(10_240) }).optional(),
  TracingConfig: z.object({ Mode: z.enum(['Active', 'PassThrough']).optional() }).optional(),
  VpcConfig: z
    .object({
      SubnetIds: z.array(z.string()).optional(),
      SecurityGroupIds: z.array(z.string()).optional(),
      Ipv6AllowedForDualStack: z.boolean().optional(),
    })
    .optional(),
  KMSKeyArn: z.string().optional(),
  FileSystemConfigs: z.array(z.object({ Arn: z.string(), LocalMountPath: z.string() })).optional(),
  ImageConfig: z
    .object({
      EntryPoint: z.array(z.string().max(1024)).max(1500).optional(),
      Command: z.array(z.string().max(1024)).max(1500).optional(),
      WorkingDirectory: z.string().max(1000).optional(),
    })
    .optional(),
  SnapStart: z.object({ ApplyOn: z.enum(['PublishedVersions', 'None']).optional() }).optional(),
  LoggingConfig: z
    .object({
      LogFormat: z.enum(['JSON', 'Text']).optional(),
      ApplicationLogLevel: z.string().optional(),
      SystemLogLevel: z.string().optional(),
      LogGroup: z.string().optional(),
    })
    .optional(),
};

export const CreateFunctionRequest = z.object({
  FunctionName: z.string().min(1).max(140),
  Code: FunctionCode,
  Publish: z.boolean().optional(),
  PackageType: z.enum(['Zip', 'Image']).optional(),
  Tags: z.record(z.string(), z.string()).optional(),
  Architectures: z
    .array(z.enum(['x86_64', 'arm64']))
    .min(1)
    .max(1)
    .optional(),
  CodeSigningConfigArn: z.string().optional(),
  ...configurationMembers,
  Role: z.string().max(2048),
});
export type CreateFunctionRequest = z.infer<typeof CreateFunctionRequest>;

export const UpdateFunctionConfigurationRequest = z.object({
  ...configurationMembers,
  RevisionId: z.string().optional(),
});
export type UpdateFunctionConfigurationRequest = z.infer<typeof UpdateFunctionConfigurationRequest>;

export const UpdateFunctionCodeRequest = z.object({
  ...FunctionCode.shape,
  Publish: z.boolean().optional(),
  DryRun: z.boolean().optional(),
  RevisionId: z.string().optional(),
  Architectures: z
    .array(z.enum(['x86_64', 'arm64']))
    .min(1)
    .max(1)
    .optional(),
});
export type UpdateFunctionCodeRequest = z.infer<typeof UpdateFunctionCodeRequest>;

export const PublishVersionRequest = z.object({
  CodeSha256: z.string().optional(),
  Description: z.string().max(256).optional(),
  RevisionId: z.string().optional(),
});
export type PublishVersionRequest = z.infer<typeof PublishVersionRequest>;

const RoutingConfig = z.object({
  AdditionalVersionWeights: z.record(z.string(), z.number()).optional(),
});

export const CreateAliasRequest = z.object({
  Name: z.string().min(1).max(128),
  FunctionVersion: z.string().min(1).max(1024),
  Description: z.string().max(256).optional(),
  RoutingConfig: RoutingConfig.optional(),
});
export type CreateAliasRequest = z.infer<typeof CreateAliasRequest>;

export const UpdateAliasRequest = z.object({
  FunctionVersion: z.string().min(1).max(1024).optional(),
  Description: z.string().max(256).optional(),
  RoutingConfig: RoutingConfig.optional(),
  RevisionId: z.string().optional(),
});
export type UpdateAliasRequest = z.infer<typeof UpdateAliasRequest>;

export const PutFunctionConcurrencyRequest = z.object({
  ReservedConcurrentExecutions: z.int().min(0),
});

/** lowerCamel member path, as Lambda names members in its validation messages. */
function memberPath(path: PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'string' ? p.charAt(0).toLowerCase() + p.slice(1) : String(p)))
    .join('.');
}

function valueAt(body: unknown, path: PropertyKey[]): unknown {
  let v: unknown = body;
  for (const p of path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

/** Parses a JSON body against `schema`, throwing Lambda's error for the first problem. */
export function parseRequest<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidRequestContentException('The request body must be a JSON object.');
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const member = memberPath(issue.path);
  const value = valueAt(body, issue.path);
  const prefix = `1 validation error detected: Value ${value === undefined ? 'null' : `'${typeof value === 'object' ? JSON.stringify(value) : String(value)}'`} at '${member}' failed to satisfy constraint: `;
  switch (issue.code) {
    case 'invalid_type':
      if (value === undefined) throw new ValidationException(`${prefix}Member must not be null`);
      throw new InvalidParameterValueException(
        `Invalid type for ${member}: expected ${issue.expected}, got ${Array.isArray(value) ? 'array' : typeof value}`,
      );
    case 'too_small':
      throw new ValidationException(
        `${prefix}Member must ${issue.origin === 'number' || issue.origin === 'int' ? `have value greater than or equal to ${String(issue.minimum)}` : `have length greater than or equal to ${String(issue.minimum)}`}`,
      );
    case 'too_big':
      throw new ValidationException(
        `${prefix}Member must ${issue.origin === 'number' || issue.origin === 'int' ? `have value less than or equal to ${String(issue.maximum)}` : `have length less than or equal to ${String(issue.maximum)}`}`,
      );
    case 'invalid_value':
      throw new ValidationException(
        `${prefix}Member must satisfy enum value set: [${issue.values.map(String).join(', ')}]`,
      );
    default:
      throw new InvalidParameterValueException(`Invalid value for ${member}: ${issue.message}`);
  }
}

export const PublishLayerVersionRequest = z.object({
  Description: z.string().max(256).optional(),
  Content: FunctionCode.pick({ ZipFile: true, S3Bucket: true, S3Key: true, S3ObjectVersion: true }),
  CompatibleRuntimes: z.array(z.string()).max(15).optional(),
  LicenseInfo: z.string().max(512).optional(),
  CompatibleArchitectures: z.array(z.string()).max(2).optional(),
});
