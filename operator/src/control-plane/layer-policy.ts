// Layer version permissions, pure. Lamina shares a layer with namespaces
// (spec.sharing.namespaces, for all its versions), so AddLayerVersionPermission grants the
// principal's namespace (an account, `arn:aws:iam::<ns>:root` or `*`) the whole layer; the
// statements themselves are kept in an annotation so they can be listed and removed.
import {
  InvalidParameterValueException,
  ResourceConflictException,
  ResourceNotFoundException,
  ValidationException,
} from '../errors.js';

export const LAYER_POLICY_ANNOTATION = 'lamina.dev/layer-policy';

export interface LayerStatement {
  version: number;
  /** A namespace, or '*'. */
  principal: string;
  /** Whether this statement added the principal to spec.sharing (and removing it may take it away). */
  added: boolean;
}

export type LayerPolicy = Record<string, LayerStatement>;

const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function policyOf(annotations: Record<string, string> | undefined): LayerPolicy {
  try {
    return JSON.parse(annotations?.[LAYER_POLICY_ANNOTATION] ?? '{}') as LayerPolicy;
  } catch {
    return {};
  }
}

/** Principal → the namespace it names ('*' for everyone). */
export function principalNamespace(principal: string): string {
  if (principal === '*') return '*';
  const root = /^arn:aws[a-zA-Z-]*:iam::([^:]+):root$/.exec(principal);
  const namespace = root ? root[1]! : principal;
  if (!NAMESPACE.test(namespace)) {
    throw new InvalidParameterValueException(
      `Principal ${principal} cannot be used: Lamina shares layers with namespaces ('*', a namespace name, or arn:aws:iam::<namespace>:root).`,
    );
  }
  return namespace;
}

export interface AddPermission {
  StatementId: string;
  Action: string;
  Principal: string;
  OrganizationId?: string | undefined;
}

/** The policy and sharing list after adding a statement. */
export function addStatement(
  policy: LayerPolicy,
  sharing: readonly string[],
  request: AddPermission,
  version: number,
): { policy: LayerPolicy; sharing: string[] } {
  if (!/^([a-zA-Z0-9-_]+)$/.test(request.StatementId) || request.StatementId.length > 100) {
    throw ValidationException.pattern(request.StatementId, 'statementId', '([a-zA-Z0-9-_]+)');
  }
  if (request.Action !== 'lambda:GetLayerVersion') {
    throw ValidationException.pattern(request.Action, 'action', 'lambda:GetLayerVersion');
  }
  if (request.OrganizationId) {
    throw new InvalidParameterValueException(
      'OrganizationId is not supported by Lamina: name a namespace or *.',
    );
  }
  if (policy[request.StatementId]) {
    throw new ResourceConflictException(
      `The statement id (${request.StatementId}) provided already exists. Please provide a new statement id, or remove the existing statement.`,
    );
  }
  const principal = principalNamespace(request.Principal);
  const present = sharing.includes(principal);
  // A namespace a statement put there stays "put there by statements" while any grants it.
  const added = !present || Object.values(policy).some((st) => st.principal === principal && st.added);
  return {
    policy: { ...policy, [request.StatementId]: { version, principal, added } },
    sharing: present ? [...sharing] : [...sharing, principal],
  };
}

/** The policy and sharing list after removing a statement. */
export function removeStatement(
  policy: LayerPolicy,
  sharing: readonly string[],
  statementId: string,
  version: number,
): { policy: LayerPolicy; sharing: string[] } {
  const statement = policy[statementId];
  if (!statement || statement.version !== version) {
    throw new ResourceNotFoundException(`Statement ${statementId} is not found in resource policy.`);
  }
  const { [statementId]: _removed, ...rest } = policy;
  const stillGranted = Object.values(rest).some((s) => s.principal === statement.principal);
  return {
    policy: rest,
    sharing:
      statement.added && !stillGranted ? sharing.filter((n) => n !== statement.principal) : [...sharing],
  };
}

export function statementJson(statementId: string, statement: LayerStatement, layerVersionArn: string) {
  return {
    Sid: statementId,
    Effect: 'Allow',
    Principal: statement.principal === '*' ? '*' : { AWS: `arn:aws:iam::${statement.principal}:root` },
    Action: 'lambda:GetLayerVersion',
    Resource: layerVersionArn,
  };
}
