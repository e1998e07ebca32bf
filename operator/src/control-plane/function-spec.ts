// CreateFunction / UpdateFunctionConfiguration bodies → the Function's spec (pure). What
// Lamina cannot honour (S3 code, VPCs, EFS, KMS, X-Ray Active, arm64 …) is refused by name
// rather than dropped, so a deployment never silently runs differently. PackageType Image
// (spec.image) is mapped in `image-spec.ts`.
import {
  ObjectName,
  RESERVED_ENVIRONMENT_KEYS,
  RUNTIMES,
  environmentSize,
  limits,
  type FunctionSpec,
  type LayerReference,
} from '../api/index.js';
import { InvalidParameterValueException, ValidationException } from '../errors.js';
import { targetOf } from './destinations.js';
import {
  checkConfigurationPackage,
  checkCreatePackage,
  imageConfigOf,
  imageConfigPatchOf,
  imageUriOf,
} from './image-spec.js';
import type { CreateFunctionRequest, UpdateFunctionConfigurationRequest } from './requests.js';

/** Lambda's role ARN pattern; the role name may carry Lamina's service-account form. */
const ROLE_ARN = /^arn:(aws[a-zA-Z-]*)?:iam::[a-z0-9-]{1,63}:role\/?[a-zA-Z_0-9+=,.@\-/]+$/;
/** `arn:aws:iam::<any>:role/lamina/<serviceAccountName>` runs the function as that service account. */
const SERVICE_ACCOUNT_ROLE = /:role\/lamina\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/;
const LAYER_ARN =
  /^arn:[a-zA-Z0-9-]+:lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:([a-z0-9]([-a-z0-9]*[a-z0-9])?):layer:([a-z0-9]([-a-z0-9.]*[a-z0-9])?):([0-9]+)$/;
/** Runtimes Lambda knows; those Lamina does not carry get a clearer answer than an enum error. */
const LAMBDA_RUNTIME = /^(nodejs|python|java|dotnet|ruby|go|provided)[0-9a-z.]*$/;

/** The metadata annotations that keep what a Function spec has no field for. */
export const ROLE_ANNOTATION = 'lamina.dev/role';
export const TAGS_ANNOTATION = 'lamina.dev/tags';

export function checkFunctionName(name: string): void {
  if (name.length > 64 || !ObjectName.safeParse(name).success) {
    throw new InvalidParameterValueException(
      `Function name '${name}' cannot be used: in Lamina a function is a Kubernetes object, so its name ` +
        'must be at most 64 lowercase letters, digits, "-" or "." and start and end with a letter or digit.',
    );
  }
}

export function runtimeOf(value: string): NonNullable<FunctionSpec['runtime']> {
  if ((RUNTIMES as readonly string[]).includes(value)) return value as NonNullable<FunctionSpec['runtime']>;
  if (LAMBDA_RUNTIME.test(value)) {
    throw new InvalidParameterValueException(
      `The runtime parameter of ${value} is not supported by Lamina. Supported runtimes: ${RUNTIMES.join(', ')}.`,
    );
  }
  throw ValidationException.enumValue(value, 'runtime', RUNTIMES);
}

/** The service account a role ARN names, or undefined (no API token in the pod). */
export function serviceAccountOfRole(role: string): string | undefined {
  if (!ROLE_ARN.test(role)) {
    throw ValidationException.pattern(role, 'role', ROLE_ARN.source);
  }
  return SERVICE_ACCOUNT_ROLE.exec(role)?.[1];
}

/** A layer version ARN (namespace in the account position) → the Function's layer reference. */
export function layerReferenceOf(arn: string, functionNamespace: string): LayerReference {
  const m = LAYER_ARN.exec(arn);
  if (!m) {
    throw new InvalidParameterValueException(
      `Layer version ${arn} is not a valid layer version ARN: expected arn:aws:lambda:<region>:<namespace>:layer:<name>:<version>`,
    );
  }
  const namespace = m[5]!;
  const name = m[7]!;
  return { name: namespace === functionNamespace ? name : `${namespace}/${name}`, version: Number(m[9]) };
}

export function environmentVariables(variables: Record<string, string>): Record<string, string> {
  const reserved = Object.keys(variables).filter((k) =>
    (RESERVED_ENVIRONMENT_KEYS as readonly string[]).includes(k),
  );
  if (reserved.length > 0) {
    throw new InvalidParameterValueException(
      'Lambda was unable to configure your environment variables because the environment variables you have ' +
        `provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: ${reserved.join(', ')}`,
    );
  }
  const bad = Object.keys(variables).find((k) => !/^[a-zA-Z][a-zA-Z0-9_]+$/.test(k));
  if (bad !== undefined) {
    throw ValidationException.pattern(bad, 'environment.variables', '[a-zA-Z]([a-zA-Z0-9_])+');
  }
  if (environmentSize(variables) > limits.environmentBytes) {
    throw new InvalidParameterValueException(
      'Lambda was unable to configure your environment variables because the environment variables you have ' +
        `provided exceeded the 4KB limit. String measured: ${JSON.stringify(variables)}`,
    );
  }
  return variables;
}

type Configuration = Omit<UpdateFunctionConfigurationRequest, 'RevisionId'> & {
  Architectures?: string[];
  CodeSigningConfigArn?: string;
};

/** Members Lamina cannot honour, each refused with what to do instead. */
export function refuseUnsupported(request: Configuration): void {
  const refuse = (what: string) => {
    throw new InvalidParameterValueException(`${what} is not supported by Lamina.`);
  };
  if (
    request.VpcConfig &&
    ((request.VpcConfig.SubnetIds?.length ?? 0) > 0 || (request.VpcConfig.SecurityGroupIds?.length ?? 0) > 0)
  )
    refuse('VpcConfig (pods reach the cluster network; use a NetworkPolicy instead)');
  if (request.FileSystemConfigs?.length) refuse('FileSystemConfigs (EFS)');
  if (request.KMSKeyArn) refuse('KMSKeyArn (environment variables are stored in the Kubernetes API)');
  if (request.CodeSigningConfigArn) refuse('CodeSigningConfigArn');
  if (request.TracingConfig?.Mode === 'Active') refuse('TracingConfig Mode Active (X-Ray)');
  if (request.SnapStart?.ApplyOn === 'PublishedVersions') refuse('SnapStart');
  if (request.Architectures && request.Architectures[0] !== 'x86_64')
    refuse(`Architecture ${request.Architectures[0]}`);
  if (request.Timeout !== undefined && request.Timeout > limits.timeout.max)
    throw new ValidationException(
      `1 validation error detected: Value '${request.Timeout}' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to ${limits.timeout.max}`,
    );
  if (request.MemorySize !== undefined && request.MemorySize > limits.memorySize.max)
    throw new ValidationException(
      `1 validation error detected: Value '${request.MemorySize}' at 'memorySize' failed to satisfy constraint: Member must have value less than or equal to ${limits.memorySize.max}`,
    );
  if (request.Layers && request.Layers.length > limits.layersPerFunction)
    throw new InvalidParameterValueException(
      `Cannot reference more than ${limits.layersPerFunction} layers.`,
    );
}

/**
 * The spec of a new Function; `codeSha256` is the uploaded zip's digest in the artifact store
 * (unused for PackageType Image, whose image the operator resolves).
 */
export function functionSpecOf(
  request: CreateFunctionRequest,
  namespace: string,
  codeSha256: string,
): FunctionSpec {
  refuseUnsupported(request);
  if (checkCreatePackage(request) === 'Image') {
    const imageConfig = imageConfigOf(request.ImageConfig);
    return {
      image: { uri: imageUriOf(request.Code.ImageUri ?? ''), ...(imageConfig && { imageConfig }) },
      ...commonSpecOf(request, namespace),
    };
  }
  if (request.Runtime === undefined) {
    throw new InvalidParameterValueException('Runtime is required for .zip deployment package types.');
  }
  const runtime = runtimeOf(request.Runtime);
  if (!runtime.startsWith('provided') && request.Handler === undefined) {
    throw new InvalidParameterValueException(`Handler is required for runtime ${runtime}.`);
  }
  return {
    runtime,
    code: { sha256: codeSha256 },
    ...(request.Handler !== undefined && { handler: request.Handler }),
    ...(request.Layers?.length && { layers: request.Layers.map((arn) => layerReferenceOf(arn, namespace)) }),
    ...commonSpecOf(request, namespace),
  };
}

/** The members a zip and an image function share. */
function commonSpecOf(request: CreateFunctionRequest, namespace: string) {
  const serviceAccountName = serviceAccountOfRole(request.Role);
  return {
    memorySize: request.MemorySize ?? limits.memorySize.default,
    timeout: request.Timeout ?? limits.timeout.default,
    publish: false,
    ...(request.Description && { description: request.Description }),
    ...(request.EphemeralStorage && { ephemeralStorage: { size: request.EphemeralStorage.Size } }),
    ...(request.Environment?.Variables &&
      Object.keys(request.Environment.Variables).length > 0 && {
        environment: { variables: environmentVariables(request.Environment.Variables) },
      }),
    ...(serviceAccountName && { serviceAccountName }),
    ...(request.DeadLetterConfig?.TargetArn && {
      deadLetterConfig: { targetArn: targetOf(request.DeadLetterConfig.TargetArn, namespace) },
    }),
  };
}

/**
 * A merge patch of the Function for UpdateFunctionConfiguration: only the members present
 * change (`null` removes a field), as in Lambda. Secret references in the environment are
 * left as they are; only the variables are replaced.
 */
export function configurationPatchOf(
  request: UpdateFunctionConfigurationRequest,
  namespace: string,
  current: FunctionSpec,
): { spec: Record<string, unknown>; role?: string } {
  refuseUnsupported(request);
  checkConfigurationPackage(current, request);
  const spec: Record<string, unknown> = {};
  if (request.ImageConfig !== undefined && current.image)
    spec.image = { imageConfig: imageConfigPatchOf(request.ImageConfig) };
  if (request.Runtime !== undefined) spec.runtime = runtimeOf(request.Runtime);
  if (request.Handler !== undefined) spec.handler = request.Handler;
  const runtime = (spec.runtime as string | undefined) ?? current.runtime;
  if (
    runtime !== undefined &&
    !runtime.startsWith('provided') &&
    (spec.handler ?? current.handler) === undefined
  ) {
    throw new InvalidParameterValueException(`Handler is required for runtime ${runtime}.`);
  }
  if (request.Description !== undefined)
    spec.description = request.Description === '' ? null : request.Description;
  if (request.MemorySize !== undefined) spec.memorySize = request.MemorySize;
  if (request.Timeout !== undefined) spec.timeout = request.Timeout;
  if (request.EphemeralStorage) spec.ephemeralStorage = { size: request.EphemeralStorage.Size };
  if (request.Layers !== undefined) {
    spec.layers = request.Layers.length
      ? request.Layers.map((arn) => layerReferenceOf(arn, namespace))
      : null;
  }
  if (request.Environment !== undefined) {
    const variables = request.Environment.Variables ?? {};
    spec.environment = {
      variables: Object.keys(variables).length ? environmentVariables(variables) : null,
    };
    // A merge patch merges maps: variables removed by the caller must be nulled one by one.
    const before = current.environment?.variables ?? {};
    if (Object.keys(variables).length) {
      const removed = Object.keys(before).filter((k) => !(k in variables));
      if (removed.length) {
        spec.environment = {
          variables: { ...Object.fromEntries(removed.map((k) => [k, null])), ...variables },
        };
      }
    }
  }
  if (request.DeadLetterConfig !== undefined) {
    spec.deadLetterConfig = request.DeadLetterConfig.TargetArn
      ? { targetArn: targetOf(request.DeadLetterConfig.TargetArn, namespace) }
      : null;
  }
  let role: string | undefined;
  if (request.Role !== undefined) {
    role = request.Role;
    spec.serviceAccountName = serviceAccountOfRole(request.Role) ?? null;
  }
  return role === undefined ? { spec } : { spec, role };
}
