// Lambda's PackageType Image ↔ a Function's spec.image (pure): ImageUri and ImageConfig in (the
// same ImageUri again: a request to resolve its tag again), ImageConfigResponse and GetFunction's
// ECR-shaped Code out, and Lambda's refusals of members a package type does not take (its own
// wording, so scripts that match on it keep working).
import {
  ImageConfig,
  ImageSource,
  type FunctionSpec,
  type ImageSnapshot,
  type LaminaFunction,
} from '../api/index.js';
import { RESOLVE_IMAGE_ANNOTATION } from '../controller/index.js';
import { InvalidParameterValueException } from '../errors.js';

export type PackageType = 'Zip' | 'Image';

/** ImageConfig as Lambda's API spells it. */
export interface LambdaImageConfig {
  EntryPoint?: string[];
  Command?: string[];
  WorkingDirectory?: string;
}

interface CodeMembers {
  ZipFile?: string;
  S3Bucket?: string;
  S3Key?: string;
  S3ObjectVersion?: string;
  ImageUri?: string;
}

const NOT_FOR_IMAGE =
  "Please don't provide Handler or Runtime or Layer when the intended function PackageType is Image.";

export function packageTypeOf(spec: { image?: unknown }): PackageType {
  return spec.image === undefined ? 'Zip' : 'Image';
}

const hasZipSource = (code: CodeMembers) =>
  code.ZipFile !== undefined ||
  code.S3Bucket !== undefined ||
  code.S3Key !== undefined ||
  code.S3ObjectVersion !== undefined;

const hasImageConfig = (config: LambdaImageConfig | undefined) =>
  config !== undefined && Object.values(config).some((v) => v !== undefined);

/** An image reference the operator can resolve and the kubelet can pull, or Lambda's refusal. */
export function imageUriOf(uri: string): string {
  if (!ImageSource.shape.uri.safeParse(uri).success) {
    throw new InvalidParameterValueException(
      `Source image ${uri} is not valid. Provide a valid source image ` +
        '(host[:port]/repository[:tag][@sha256:<digest>], e.g. registry.example.com/team/app:v1).',
    );
  }
  return uri;
}

/** Lambda's ImageConfig → spec.image.imageConfig; undefined when it sets nothing. */
export function imageConfigOf(config: LambdaImageConfig | undefined): ImageConfig | undefined {
  if (!config) return undefined;
  const mapped = {
    ...(config.EntryPoint?.length && { entryPoint: config.EntryPoint }),
    ...(config.Command?.length && { command: config.Command }),
    ...(config.WorkingDirectory && { workingDirectory: config.WorkingDirectory }),
  };
  const parsed = ImageConfig.safeParse(mapped);
  if (!parsed.success) {
    const member = String(parsed.error.issues[0]?.path[0] ?? '');
    throw new InvalidParameterValueException(
      member === 'workingDirectory'
        ? `ImageConfig WorkingDirectory ${config.WorkingDirectory} must be an absolute path of at most 1000 characters.`
        : `ImageConfig ${member} is not valid: ${parsed.error.issues[0]?.message ?? ''}`,
    );
  }
  return Object.keys(parsed.data).length ? parsed.data : undefined;
}

/**
 * The merge patch of spec.image.imageConfig for UpdateFunctionConfiguration: Lambda replaces
 * the whole ImageConfig, so members the request leaves out are removed.
 */
export function imageConfigPatchOf(config: LambdaImageConfig): Record<string, unknown> | null {
  const next = imageConfigOf(config);
  if (!next) return null;
  return {
    entryPoint: next.entryPoint ?? null,
    command: next.command ?? null,
    workingDirectory: next.workingDirectory ?? null,
  };
}

/** ImageConfigResponse of a FunctionConfiguration; undefined when nothing is overridden. */
export function imageConfigResponseOf(config: ImageConfig | undefined) {
  if (!config || !hasImageConfig(config as LambdaImageConfig)) return undefined;
  return {
    ImageConfig: {
      ...(config.entryPoint && { EntryPoint: config.entryPoint }),
      ...(config.command && { Command: config.command }),
      ...(config.workingDirectory !== undefined && { WorkingDirectory: config.workingDirectory }),
    },
  };
}

/** CreateFunction: the package type, after Lambda's refusals of members it does not take. */
export function checkCreatePackage(request: {
  PackageType?: PackageType;
  Runtime?: string;
  Handler?: string;
  Layers?: string[];
  ImageConfig?: LambdaImageConfig;
  Code: CodeMembers;
}): PackageType {
  const type = request.PackageType ?? 'Zip';
  if (type === 'Image') {
    if (request.Runtime !== undefined || request.Handler !== undefined || request.Layers?.length)
      throw new InvalidParameterValueException(NOT_FOR_IMAGE);
    if (hasZipSource(request.Code))
      throw new InvalidParameterValueException(
        "Please don't provide ZipFile or S3Bucket or S3Key or S3ObjectVersion when the intended function PackageType is Image.",
      );
    if (!request.Code.ImageUri)
      throw new InvalidParameterValueException(
        'Please provide ImageUri when the intended function PackageType is Image.',
      );
    imageUriOf(request.Code.ImageUri);
    imageConfigOf(request.ImageConfig);
    return type;
  }
  if (request.Code.ImageUri !== undefined)
    throw new InvalidParameterValueException(
      "Please don't provide ImageUri when the intended function PackageType is Zip.",
    );
  if (hasImageConfig(request.ImageConfig))
    throw new InvalidParameterValueException(
      "Please don't provide ImageConfig when the intended function PackageType is Zip.",
    );
  return type;
}

/** UpdateFunctionConfiguration: members the function's package type does not take. */
export function checkConfigurationPackage(
  current: FunctionSpec,
  request: { Runtime?: string; Handler?: string; Layers?: string[]; ImageConfig?: LambdaImageConfig },
): void {
  if (packageTypeOf(current) === 'Image') {
    if (request.Runtime !== undefined || request.Handler !== undefined || request.Layers?.length)
      throw new InvalidParameterValueException(NOT_FOR_IMAGE);
  } else if (hasImageConfig(request.ImageConfig)) {
    throw new InvalidParameterValueException(
      "Please don't provide ImageConfig when updating a function with packageType Zip.",
    );
  }
}

/**
 * UpdateFunctionCode: the merge patch of an image function (its new ImageUri), or undefined for
 * a zip function (whose ZipFile the caller stores). The package type never changes, as on Lambda.
 */
export function imageCodePatchOf(
  current: FunctionSpec,
  code: CodeMembers,
): { spec: { image: { uri: string } } } | undefined {
  if (packageTypeOf(current) === 'Zip') {
    if (code.ImageUri !== undefined)
      throw new InvalidParameterValueException(
        "Please don't provide ImageUri when updating a function with packageType Zip.",
      );
    return undefined;
  }
  if (hasZipSource(code) || !code.ImageUri)
    throw new InvalidParameterValueException(
      'Please provide ImageUri when updating a function with packageType Image.',
    );
  return { spec: { image: { uri: imageUriOf(code.ImageUri) } } };
}

/**
 * UpdateFunctionCode naming the ImageUri the function already has: Lambda resolves it again (a
 * tag pushed anew). The spec does not change, so the same write asks the operator for it with
 * the annotation lamina.dev/resolve-image set to `requestedAt` (a new ImageUri is resolved anyway).
 */
export function withImageResolution(
  current: Pick<LaminaFunction, 'spec'>,
  patch: { spec: { image: { uri: string } } },
  requestedAt: string,
): { spec: { image: { uri: string } }; metadata?: { annotations: Record<string, string> } } {
  if (current.spec.image?.uri !== patch.spec.image.uri) return patch;
  return { ...patch, metadata: { annotations: { [RESOLVE_IMAGE_ANNOTATION]: requestedAt } } };
}

/**
 * GetFunction's Code of an image function: the reference as given and the one pinned by digest
 * that runs ($LATEST: the operator's status.resolvedImageUri; a version: its snapshot, which
 * keeps only the digest). Undefined for a zip function.
 */
export function imageCodeOf(fn: LaminaFunction, snapshot?: { image?: ImageSnapshot }) {
  if (snapshot) {
    if (!snapshot.image) return undefined;
    return { RepositoryType: 'ECR', ImageUri: snapshot.image.uri, ResolvedImageUri: snapshot.image.uri };
  }
  if (!fn.spec.image) return undefined;
  const resolved = fn.status?.resolvedImageUri;
  return {
    RepositoryType: 'ECR',
    ImageUri: fn.spec.image.uri,
    ...(resolved && { ResolvedImageUri: resolved }),
  };
}
