// Parses Invoke's FunctionName (bare name, name:qualifier, partial ARN, full ARN) and its
// Qualifier parameter (LAMBDA-SPEC §1). Lamina puts the Kubernetes namespace where Lambda
// has the account id: arn:aws:lambda:<region>:<namespace>:function:<name>[:<qualifier>].
import { InvalidParameterValueException, ValidationException } from '../errors.js';

export interface FunctionReference {
  namespace: string;
  name: string;
  /** Undefined means $LATEST. */
  qualifier?: string;
}

/** Lambda's pattern with the account position widened to a Kubernetes namespace. */
export const FUNCTION_NAME_PATTERN =
  '(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?([a-z0-9]([-a-z0-9]*[a-z0-9])?:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?';
export const QUALIFIER_PATTERN = '(|[a-zA-Z0-9$_-]+)';

const MAX_FUNCTION_NAME_LENGTH = 256;
const NAME = /^[a-zA-Z0-9-_.]{1,64}$/;
const NAME_QUALIFIER = /^(\$LATEST|[a-zA-Z0-9-_]{1,128})$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;
const PARTITION = /^aws[a-zA-Z-]*$/;
const QUALIFIER = /^[a-zA-Z0-9$_-]{1,128}$/;

function invalidName(value: string): ValidationException {
  return ValidationException.pattern(value, 'functionName', FUNCTION_NAME_PATTERN);
}

/** Splits FunctionName into namespace, name and the qualifier the name carries (if any). */
export function parseFunctionName(value: string, defaultNamespace: string): FunctionReference {
  if (value.length > MAX_FUNCTION_NAME_LENGTH) {
    throw ValidationException.maxLength(value, 'functionName', MAX_FUNCTION_NAME_LENGTH);
  }
  const parts = value.split(':');
  let namespace = defaultNamespace;
  let rest: string[];
  if (parts[0] === 'arn') {
    // arn:<partition>:lambda:<region>:<namespace>:function:<name>[:<qualifier>]
    const [, partition, service, region, ns, kind, ...tail] = parts;
    if (
      !partition ||
      !PARTITION.test(partition) ||
      service !== 'lambda' ||
      !region ||
      !REGION.test(region) ||
      !ns ||
      kind !== 'function'
    ) {
      throw invalidName(value);
    }
    namespace = ns;
    rest = tail;
  } else if (parts[1] === 'function') {
    // <namespace>:function:<name>[:<qualifier>]
    namespace = parts[0] ?? '';
    rest = parts.slice(2);
  } else {
    rest = parts;
  }
  const [name, qualifier, ...extra] = rest;
  if (
    !name ||
    !NAME.test(name) ||
    !NAMESPACE.test(namespace) ||
    extra.length > 0 ||
    (qualifier !== undefined && !NAME_QUALIFIER.test(qualifier))
  ) {
    throw invalidName(value);
  }
  return qualifier === undefined ? { namespace, name } : { namespace, name, qualifier };
}

/**
 * Combines FunctionName and the Qualifier parameter. A qualifier in both places must agree
 * (InvalidParameterValueException otherwise); `$LATEST` is returned as undefined.
 */
export function resolveFunctionReference(
  functionName: string,
  qualifierParam: string | undefined,
  defaultNamespace: string,
): FunctionReference {
  if (qualifierParam !== undefined && qualifierParam !== '' && !QUALIFIER.test(qualifierParam)) {
    throw ValidationException.pattern(qualifierParam, 'qualifier', QUALIFIER_PATTERN);
  }
  const ref = parseFunctionName(functionName, defaultNamespace);
  const param = qualifierParam === '' ? undefined : qualifierParam;
  if (ref.qualifier !== undefined && param !== undefined && ref.qualifier !== param) {
    throw new InvalidParameterValueException(
      'The derived qualifier from the function name does not match the specified qualifier.',
    );
  }
  const qualifier = ref.qualifier ?? param;
  return qualifier === undefined || qualifier === '$LATEST'
    ? { namespace: ref.namespace, name: ref.name }
    : { namespace: ref.namespace, name: ref.name, qualifier };
}

/** arn:aws:lambda:<region>:<namespace>:function:<name>[:<qualifier>] */
export function functionArn(region: string, namespace: string, name: string, qualifier?: string): string {
  const base = `arn:aws:lambda:${region}:${namespace}:function:${name}`;
  return qualifier === undefined ? base : `${base}:${qualifier}`;
}
