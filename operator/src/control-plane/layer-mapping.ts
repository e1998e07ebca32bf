// Layers, pure: PublishLayerVersion bodies → the Layer spec, and a Layer's recorded versions
// → Lambda's LayerVersion JSON. The namespace is the account position of layer ARNs:
// arn:aws:lambda:<region>:<namespace>:layer:<name>[:<version>].
import { ObjectName, RUNTIMES, type Layer, type LayerSpec, type LayerVersionRecord } from '../api/index.js';
import { InvalidParameterValueException, ValidationException } from '../errors.js';
import { base64Sha256, lambdaTimestamp, layerVersionArn } from './configuration.js';

const LAYER_NAME_ARN =
  /^arn:[a-zA-Z0-9-]+:lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:([a-z0-9]([-a-z0-9]*[a-z0-9])?):layer:([^:]+)(:([0-9]+))?$/;

export interface LayerRef {
  namespace: string;
  name: string;
  version?: number;
}

/** LayerName (a name or a layer ARN) → namespace and name; the name must be a Kubernetes name. */
export function parseLayerName(value: string, defaultNamespace: string, allowVersion = false): LayerRef {
  const arn = LAYER_NAME_ARN.exec(value);
  const ref: LayerRef = arn
    ? { namespace: arn[5]!, name: arn[7]!, ...(arn[9] !== undefined && { version: Number(arn[9]) }) }
    : { namespace: defaultNamespace, name: value };
  if (ref.version !== undefined && !allowVersion) {
    throw ValidationException.pattern(value, 'layerName', 'arn:...:layer:<name> (no version)');
  }
  if (ref.name.length > 140 || !ObjectName.safeParse(ref.name).success) {
    throw new InvalidParameterValueException(
      `Layer name '${ref.name}' cannot be used: in Lamina a layer is a Kubernetes object, so its name must be ` +
        'lowercase letters, digits, "-" or "." and start and end with a letter or digit.',
    );
  }
  return ref;
}

export function layerArn(region: string, namespace: string, name: string): string {
  return `arn:aws:lambda:${region}:${namespace}:layer:${name}`;
}

export function compatibleRuntimesOf(values: string[] | undefined): LayerSpec['compatibleRuntimes'] {
  if (values === undefined) return undefined;
  const unsupported = values.filter((r) => !(RUNTIMES as readonly string[]).includes(r));
  if (unsupported.length) {
    throw new InvalidParameterValueException(
      `CompatibleRuntimes ${unsupported.join(', ')} are not supported by Lamina. Supported runtimes: ${RUNTIMES.join(', ')}.`,
    );
  }
  return values as LayerSpec['compatibleRuntimes'];
}

/** The spec members a publication sets besides the content. */
export function layerSpecMembers(request: {
  Description?: string | undefined;
  CompatibleRuntimes?: string[] | undefined;
  CompatibleArchitectures?: string[] | undefined;
  LicenseInfo?: string | undefined;
}): Omit<LayerSpec, 'content'> {
  const runtimes = compatibleRuntimesOf(request.CompatibleRuntimes);
  const architectures = request.CompatibleArchitectures;
  if (architectures?.some((a) => a !== 'x86_64' && a !== 'arm64')) {
    throw ValidationException.enumValue(architectures.join(','), 'compatibleArchitectures', [
      'x86_64',
      'arm64',
    ]);
  }
  return {
    ...(request.Description && { description: request.Description }),
    ...(runtimes?.length && { compatibleRuntimes: runtimes }),
    ...(architectures?.length && { compatibleArchitectures: architectures as Array<'x86_64' | 'arm64'> }),
    ...(request.LicenseInfo && { licenseInfo: request.LicenseInfo }),
  };
}

/** Live (not deleted) versions, oldest first. */
export function liveVersions(layer: Layer): LayerVersionRecord[] {
  const deleted = new Set(layer.spec.deletedVersions ?? []);
  return (layer.status?.versions ?? [])
    .filter((v) => !v.deleted && !deleted.has(v.version))
    .sort((a, b) => a.version - b.version);
}

/** Lambda's GetLayerVersion / PublishLayerVersion answer (Content.Location added by the route). */
export function layerVersionJson(layer: Layer, record: LayerVersionRecord, region: string) {
  const namespace = layer.metadata.namespace ?? 'default';
  const { spec } = layer;
  return {
    Content: { CodeSha256: base64Sha256(record.sha256), CodeSize: record.size },
    LayerArn: layerArn(region, namespace, layer.metadata.name),
    LayerVersionArn: layerVersionArn(region, namespace, layer.metadata.name, record.version),
    Description: spec.description ?? '',
    CreatedDate: lambdaTimestamp(record.createdAt),
    Version: record.version,
    ...((record.compatibleRuntimes ?? spec.compatibleRuntimes)?.length && {
      CompatibleRuntimes: record.compatibleRuntimes ?? spec.compatibleRuntimes,
    }),
    ...(spec.licenseInfo && { LicenseInfo: spec.licenseInfo }),
    ...(spec.compatibleArchitectures?.length && { CompatibleArchitectures: spec.compatibleArchitectures }),
  };
}
