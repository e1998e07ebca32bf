// CreateAlias / UpdateAlias bodies → the Alias spec, with Lambda's routing rules and messages
// (LAMBDA-SPEC §5), pure. Whether the versions exist is checked against the published list.
import type { AliasSpec } from '../api/index.js';
import { InvalidParameterValueException, ResourceNotFoundException, ValidationException } from '../errors.js';
import { functionArn } from './configuration.js';

const ALIAS_NAME = '(?!^[0-9]+$)([a-zA-Z0-9-_]+)';
const VERSION = '(\\$LATEST|[0-9]+)';

export function checkAliasName(name: string): void {
  if (name.length > 128 || !new RegExp(`^${ALIAS_NAME}$`).test(name)) {
    throw ValidationException.pattern(name, 'name', ALIAS_NAME);
  }
}

export function checkFunctionVersion(version: string): void {
  if (!new RegExp(`^${VERSION}$`).test(version)) {
    throw ValidationException.pattern(version, 'functionVersion', VERSION);
  }
}

/** Validates a RoutingConfig against its primary version; returns the spec's routingConfig. */
export function routingConfigOf(
  functionVersion: string,
  weights: Record<string, number> | undefined,
): AliasSpec['routingConfig'] | undefined {
  if (weights === undefined) return undefined;
  const entries = Object.entries(weights);
  if (entries.length > 1) {
    throw new InvalidParameterValueException(
      'Number of items in AdditionalVersionWeights cannot be greater than 1',
    );
  }
  for (const [version, weight] of entries) {
    if (!/^[0-9]+$/.test(version)) {
      throw ValidationException.pattern(version, 'routingConfig.additionalVersionWeights.key', '[0-9]+');
    }
    if (!(weight >= 0 && weight <= 1)) {
      throw new ValidationException(
        `1 validation error detected: Value '${weight}' at 'routingConfig.additionalVersionWeights.${version}' failed to satisfy constraint: Member must have value between 0.0 and 1.0`,
      );
    }
    if (version === functionVersion) {
      throw new InvalidParameterValueException(
        `Invalid function version ${version}. Function version ${version} is already included in routing configuration.`,
      );
    }
    if (functionVersion === '$LATEST') {
      throw new InvalidParameterValueException(
        '$LATEST is not supported for an alias pointing to more than 1 version',
      );
    }
  }
  return { additionalVersionWeights: weights };
}

/** Every version an alias names must be published (or be $LATEST). */
export function checkVersionsExist(
  region: string,
  namespace: string,
  functionName: string,
  published: ReadonlySet<number>,
  versions: string[],
): void {
  for (const v of versions) {
    if (v !== '$LATEST' && !published.has(Number(v))) {
      throw new ResourceNotFoundException(
        `Function not found: ${functionArn(region, namespace, functionName, v)}`,
      );
    }
  }
}

/** A Kubernetes object name for an alias: `<function>-<alias>` when that is a valid name. */
export function aliasObjectName(functionName: string, alias: string): string | undefined {
  const name = `${functionName}-${alias}`;
  return name.length <= 253 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) ? name : undefined;
}
