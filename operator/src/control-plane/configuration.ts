// Function, Version and Alias objects → Lambda's JSON (FunctionConfiguration,
// AliasConfiguration), pure. State and LastUpdateStatus follow the operator's status, with one
// rule of our own: a spec the operator has not yet observed (generation ahead of
// status.observedGeneration), or an image tag it has not yet resolved again as asked, is an
// update in progress, so `aws lambda wait function-updated-v2` never sees the previous
// "Successful" for a change it just made.
import { createHash } from 'node:crypto';
import {
  limits,
  type Alias,
  type ImageConfig,
  type LaminaFunction,
  type PinnedLayer,
  type Version,
  type VersionSnapshot,
} from '../api/index.js';
import { imageResolutionPending } from '../controller/index.js';
import { functionArn, layerVersionArn } from './arns.js';
import { destinationOf } from './destinations.js';
import { ROLE_ANNOTATION } from './function-spec.js';
import { imageConfigResponseOf } from './image-spec.js';

export { functionArn, layerVersionArn };

export interface Naming {
  region: string;
}

/**
 * Lambda's RevisionId (a UUID) for an object: derived from its uid and generation, so it
 * changes with every accepted change of the spec and is the same for every gateway replica.
 * Not from resourceVersion alone: the operator's status writes move that every few
 * milliseconds, which would make every RevisionId a client holds stale at once. Writes made
 * on a RevisionId are still conditional on the resourceVersion read (objects.ts).
 */
export function revisionIdOf(metadata: { uid?: string; generation?: number }): string {
  const hex = createHash('sha256')
    .update(`${metadata.uid ?? ''}\u0000${metadata.generation ?? 0}`)
    .digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Lambda reports CodeSha256 as the base64 of the digest; Lamina keeps it as hex. */
export function base64Sha256(hex: string | undefined): string {
  return hex ? Buffer.from(hex, 'hex').toString('base64') : '';
}

/** A CodeSha256 precondition as Lambda clients send it (base64), or hex, → hex. */
export function hexSha256(value: string): string | undefined {
  if (/^[a-f0-9]{64}$/i.test(value)) return value.toLowerCase();
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === 32 && bytes.toString('base64') === value ? bytes.toString('hex') : undefined;
}

/** Lambda's timestamp format: 2024-01-31T12:34:56.789+0000. */
export function lambdaTimestamp(iso: string | undefined): string | undefined {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString().replace('Z', '+0000');
}

export function roleOf(
  metadata: { annotations?: Record<string, string> },
  namespace: string,
  serviceAccount?: string,
): string {
  return (
    metadata.annotations?.[ROLE_ANNOTATION] ??
    `arn:aws:iam::${namespace}:role/lamina/${serviceAccount ?? 'no-service-account'}`
  );
}

function layersOf(region: string, layers: readonly PinnedLayer[]) {
  return layers.map((l) => ({
    Arn: layerVersionArn(region, l.namespace, l.name, l.version),
    CodeSize: l.size ?? 0,
  }));
}

/**
 * Members common to $LATEST and published versions. An image function's CodeSha256 is its
 * manifest digest in hex, as Lambda reports it (a zip's is the base64 of the zip's digest).
 */
function common(
  region: string,
  name: string,
  s: Omit<VersionSnapshot, 'revisionId' | 'codeSize' | 'codeSha256' | 'image'> & {
    codeSha256?: string;
    codeSize?: number;
    image?: { imageConfig?: ImageConfig };
  },
) {
  const imageConfigResponse = s.image && imageConfigResponseOf(s.image.imageConfig);
  return {
    FunctionName: name,
    ...(s.runtime !== undefined && { Runtime: s.runtime }),
    ...(s.handler !== undefined && { Handler: s.handler }),
    CodeSize: s.codeSize ?? 0,
    CodeSha256: s.image ? (s.codeSha256 ?? '') : base64Sha256(s.codeSha256),
    Description: s.description ?? '',
    Timeout: s.timeout,
    MemorySize: s.memorySize,
    ...(s.environment?.variables && { Environment: { Variables: s.environment.variables } }),
    TracingConfig: { Mode: 'PassThrough' },
    ...(s.layers?.length && { Layers: layersOf(region, s.layers) }),
    ...(s.deadLetterTarget && { DeadLetterConfig: { TargetArn: s.deadLetterTarget } }),
    PackageType: s.image ? 'Image' : 'Zip',
    ...(imageConfigResponse && { ImageConfigResponse: imageConfigResponse }),
    Architectures: ['x86_64'],
    EphemeralStorage: { Size: s.ephemeralStorageSize },
    SnapStart: { ApplyOn: 'None', OptimizationStatus: 'Off' },
    LoggingConfig: { LogFormat: 'Text', LogGroup: `/aws/lambda/${name}` },
  };
}

/** State, LastUpdateStatus and their reasons for $LATEST. */
export function stateOf(fn: LaminaFunction) {
  const status = fn.status ?? {};
  const state = status.state ?? 'Pending';
  const observed =
    status.observedGeneration !== undefined &&
    status.observedGeneration === fn.metadata.generation &&
    !imageResolutionPending(fn);
  const lastUpdateStatus = !observed ? 'InProgress' : (status.lastUpdateStatus ?? 'InProgress');
  return {
    State: state,
    ...(state === 'Pending' && {
      StateReason: status.stateReason ?? 'The function is being created.',
      StateReasonCode: status.stateReasonCode ?? 'Creating',
    }),
    ...(state === 'Failed' && {
      StateReason: status.stateReason ?? 'The function could not be created.',
      StateReasonCode: status.stateReasonCode ?? 'InternalError',
    }),
    LastUpdateStatus: lastUpdateStatus,
    ...(lastUpdateStatus === 'InProgress' && {
      LastUpdateStatusReason: 'The function is being created.',
      LastUpdateStatusReasonCode: 'Creating',
    }),
    ...(lastUpdateStatus === 'Failed' && {
      LastUpdateStatusReason: status.stateReason ?? 'The last update failed.',
      LastUpdateStatusReasonCode: status.stateReasonCode ?? 'InternalError',
    }),
  };
}

/** FunctionConfiguration of $LATEST. `upload` fills the code facts before the operator has. */
export function latestConfiguration(
  fn: LaminaFunction,
  naming: Naming,
  upload?: { sha256: string; size: number },
) {
  const namespace = fn.metadata.namespace ?? 'default';
  const { spec, status = {} } = fn;
  const pendingCode = spec.code?.sha256 !== undefined && spec.code.sha256 !== status.codeSha256;
  const codeSha256 = pendingCode ? spec.code?.sha256 : (status.codeSha256 ?? upload?.sha256);
  const codeSize =
    upload && upload.sha256 === codeSha256
      ? upload.size
      : codeSha256 === status.codeSha256
        ? status.codeSize
        : undefined;
  return {
    ...common(naming.region, fn.metadata.name, {
      runtime: spec.runtime,
      handler: spec.handler,
      ...(spec.image && { image: spec.image }),
      ...(codeSha256 !== undefined && { codeSha256 }),
      ...(codeSize !== undefined && { codeSize }),
      memorySize: spec.memorySize ?? limits.memorySize.default,
      timeout: spec.timeout ?? limits.timeout.default,
      ephemeralStorageSize: spec.ephemeralStorage?.size ?? limits.ephemeralStorage.default,
      environment: spec.environment,
      layers: status.layers ?? [],
      deadLetterTarget:
        spec.deadLetterConfig?.targetArn &&
        destinationOf(spec.deadLetterConfig.targetArn, naming.region, namespace),
      description: spec.description,
    }),
    FunctionArn: functionArn(naming.region, namespace, fn.metadata.name),
    Role: roleOf(fn.metadata, namespace, spec.serviceAccountName),
    LastModified:
      lambdaTimestamp(status.lastModified ?? fn.metadata.creationTimestamp?.toString()) ??
      lambdaTimestamp(new Date(0).toISOString()),
    Version: '$LATEST',
    RevisionId: revisionIdOf(fn.metadata),
    ...stateOf(fn),
  };
}

/** FunctionConfiguration of a published version. */
export function versionConfiguration(fn: LaminaFunction, version: Version, naming: Naming) {
  const namespace = fn.metadata.namespace ?? 'default';
  const snapshot = version.spec.snapshot!;
  const number = String(version.spec.version);
  return {
    ...common(naming.region, fn.metadata.name, {
      ...snapshot,
      deadLetterTarget:
        snapshot.deadLetterTarget && destinationOf(snapshot.deadLetterTarget, naming.region, namespace),
    }),
    FunctionArn: functionArn(naming.region, namespace, fn.metadata.name, number),
    Role: roleOf(fn.metadata, namespace, snapshot.serviceAccountName),
    LastModified: lambdaTimestamp(version.metadata.creationTimestamp?.toString()),
    Version: number,
    RevisionId: revisionIdOf(version.metadata),
    State: version.status?.state === 'Failed' ? 'Failed' : 'Active',
    LastUpdateStatus: 'Successful',
  };
}

/** The qualifier clients use for an alias. */
export function aliasName(alias: Alias): string {
  return alias.spec.name ?? alias.metadata.name;
}

/** AliasConfiguration. */
export function aliasConfiguration(alias: Alias, naming: Naming) {
  const namespace = alias.metadata.namespace ?? 'default';
  const weights = alias.spec.routingConfig?.additionalVersionWeights;
  return {
    AliasArn: functionArn(naming.region, namespace, alias.spec.functionName, aliasName(alias)),
    Name: aliasName(alias),
    FunctionVersion: alias.spec.functionVersion,
    Description: alias.spec.description ?? '',
    ...(weights &&
      Object.keys(weights).length > 0 && { RoutingConfig: { AdditionalVersionWeights: weights } }),
    RevisionId: revisionIdOf(alias.metadata),
  };
}
