// A function's resource-based policy (AddPermission, RemovePermission, GetPolicy) as
// Kubernetes RBAC, pure. Lamina decides who may invoke with the verb `invoke` on
// functions.lamina.dev, so a statement becomes a RoleBinding (one per statement, named after
// it) of the function's Role `lamina-invoke-<function>` (invoke, resourceNames [function]) to
// the principal. The statement's JSON is kept on the binding so GetPolicy can render it back;
// both objects are owned by the Function, so deleting the function deletes its policy.
import type { RbacV1Subject as V1Subject, V1Role, V1RoleBinding } from '@kubernetes/client-node';
import { InvalidParameterValueException, ValidationException } from '../errors.js';

export const POLICY_FUNCTION_LABEL = 'lamina.dev/function';
export const STATEMENT_ID_ANNOTATION = 'lamina.dev/statement-id';
export const STATEMENT_ANNOTATION = 'lamina.dev/statement';

const RBAC_GROUP = 'rbac.authorization.k8s.io';
const INVOKE_ACTIONS = ['lambda:InvokeFunction', 'lambda:InvokeFunctionUrl'] as const;
const STATEMENT_ID = /^[a-zA-Z0-9-_]{1,100}$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const SERVICE_ACCOUNT = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** Label values hold 63 characters; Lambda allows function names of 64. */
const LABEL_VALUE_MAX = 63;

export const ACCEPTED_PRINCIPALS =
  "'*' (every authenticated caller), arn:aws:iam::<namespace>:role/lamina/<serviceaccount> or " +
  'system:serviceaccount:<namespace>:<serviceaccount> (a ServiceAccount), ' +
  'arn:aws:iam::<namespace>:root or <namespace> (every ServiceAccount of a namespace), ' +
  'user:<name> or group:<name> (a Kubernetes user or group)';

export interface AddPermissionInput {
  StatementId: string;
  Action: string;
  Principal: string;
  SourceArn?: string | undefined;
  SourceAccount?: string | undefined;
  EventSourceToken?: string | undefined;
  PrincipalOrgID?: string | undefined;
  FunctionUrlAuthType?: string | undefined;
  InvokedViaFunctionUrl?: boolean | undefined;
}

/** One statement of Lambda's policy document, as GetPolicy and AddPermission render it. */
export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Principal: '*' | { AWS: string };
  Action: string;
  Resource: string;
  Condition?: Record<string, Record<string, string>>;
}

export const invokeRoleName = (functionName: string) => `lamina-invoke-${functionName}`;

/**
 * The statement's RoleBinding name. A statement id has no '.', so the last '.' separates it
 * from the function's name and no two (function, statement) pairs share a name.
 */
export const statementBindingName = (functionName: string, statementId: string) =>
  `lamina-policy-${functionName}.${statementId}`;

/** The principal as an RBAC subject; anything RBAC cannot name is refused. */
export function principalSubject(principal: string): V1Subject {
  const refuse = (why: string) =>
    new InvalidParameterValueException(
      `The provided principal ${principal} ${why}. Lamina grants invoke with Kubernetes RBAC and accepts ${ACCEPTED_PRINCIPALS}.`,
    );
  const serviceAccount = (namespace: string, name: string): V1Subject => {
    if (!NAMESPACE.test(namespace) || !SERVICE_ACCOUNT.test(name))
      throw refuse('does not name a valid namespace and ServiceAccount');
    return { kind: 'ServiceAccount', name, namespace };
  };
  const namespaceGroup = (namespace: string): V1Subject => {
    if (!NAMESPACE.test(namespace)) throw refuse('does not name a valid namespace');
    return { kind: 'Group', apiGroup: RBAC_GROUP, name: `system:serviceaccounts:${namespace}` };
  };
  if (principal === '*') return { kind: 'Group', apiGroup: RBAC_GROUP, name: 'system:authenticated' };
  const role = /^arn:aws[a-zA-Z-]*:iam::([^:]*):role\/lamina\/([^/]+)$/.exec(principal);
  if (role) return serviceAccount(role[1]!, role[2]!);
  const root = /^arn:aws[a-zA-Z-]*:iam::([^:]*):root$/.exec(principal);
  if (root) return namespaceGroup(root[1]!);
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(principal);
  if (sa) return serviceAccount(sa[1]!, sa[2]!);
  const named = /^(user|group):(.+)$/.exec(principal);
  if (named) {
    if (/\s/.test(named[2]!)) throw refuse('contains white space');
    return { kind: named[1] === 'user' ? 'User' : 'Group', apiGroup: RBAC_GROUP, name: named[2]! };
  }
  if (principal.endsWith('.amazonaws.com') || principal.startsWith('arn:'))
    throw refuse('is an AWS principal that does not exist on Kubernetes');
  if (NAMESPACE.test(principal)) return namespaceGroup(principal);
  throw refuse('is not one Lamina understands');
}

/** AddPermission's request → the statement it adds (its Resource: the function's ARN). */
export function statementOf(request: AddPermissionInput, functionArn: string): PolicyStatement {
  if (!STATEMENT_ID.test(request.StatementId)) {
    throw ValidationException.pattern(request.StatementId, 'statementId', '([a-zA-Z0-9-_]+)');
  }
  if (!(INVOKE_ACTIONS as readonly string[]).includes(request.Action)) {
    throw new InvalidParameterValueException(
      `The action ${request.Action} cannot be granted: Lamina's function policies grant the RBAC verb ` +
        `"invoke" only, through ${INVOKE_ACTIONS.join(' or ')}.`,
    );
  }
  const unenforceable = (
    ['SourceArn', 'SourceAccount', 'EventSourceToken', 'PrincipalOrgID'] as const
  ).filter((member) => request[member] !== undefined);
  if (request.InvokedViaFunctionUrl) unenforceable.push('InvokedViaFunctionUrl' as never);
  if (unenforceable.length) {
    throw new InvalidParameterValueException(
      `${unenforceable.join(', ')} cannot be enforced: Lamina grants invoke with Kubernetes RBAC, ` +
        'which knows the caller only. Omit the condition.',
    );
  }
  if (request.FunctionUrlAuthType !== undefined && request.Action !== 'lambda:InvokeFunctionUrl') {
    throw new InvalidParameterValueException(
      'FunctionUrlAuthType is only supported for lambda:InvokeFunctionUrl action',
    );
  }
  if (
    request.FunctionUrlAuthType !== undefined &&
    !['AWS_IAM', 'NONE'].includes(request.FunctionUrlAuthType)
  ) {
    throw ValidationException.enumValue(request.FunctionUrlAuthType, 'functionUrlAuthType', [
      'NONE',
      'AWS_IAM',
    ]);
  }
  principalSubject(request.Principal);
  return {
    Sid: request.StatementId,
    Effect: 'Allow',
    Principal: request.Principal === '*' ? '*' : { AWS: request.Principal },
    Action: request.Action,
    Resource: functionArn,
    ...(request.FunctionUrlAuthType !== undefined && {
      Condition: { StringEquals: { 'lambda:FunctionUrlAuthType': request.FunctionUrlAuthType } },
    }),
  };
}

interface FunctionOwner {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string };
}

function ownedBy(fn: FunctionOwner) {
  // No blockOwnerDeletion: it would need update on functions/finalizers, and nothing waits on it.
  return [{ apiVersion: fn.apiVersion, kind: fn.kind, name: fn.metadata.name, uid: fn.metadata.uid ?? '' }];
}

/** Labels a function's policy objects carry; refused for a name too long for a label. */
function functionLabels(functionName: string): Record<string, string> {
  if (functionName.length > LABEL_VALUE_MAX) {
    throw new InvalidParameterValueException(
      `Function ${functionName} cannot have a policy: Lamina labels its RoleBindings with the function's name, ` +
        `and Kubernetes label values hold ${LABEL_VALUE_MAX} characters.`,
    );
  }
  return { [POLICY_FUNCTION_LABEL]: functionName };
}

/** The rules of the function's invoke Role: exactly `invoke` on this one function. */
export function invokeRules(functionName: string) {
  return [
    { apiGroups: ['lamina.dev'], resources: ['functions'], verbs: ['invoke'], resourceNames: [functionName] },
  ];
}

export function invokeRole(fn: FunctionOwner): V1Role {
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'Role',
    metadata: {
      name: invokeRoleName(fn.metadata.name),
      namespace: fn.metadata.namespace,
      labels: functionLabels(fn.metadata.name),
      ownerReferences: ownedBy(fn),
    },
    rules: invokeRules(fn.metadata.name),
  };
}

/**
 * Whether an existing Role of that name grants exactly invoke on the function — a Role
 * someone else made with more in it is never bound to a principal by Lamina.
 */
export function isInvokeRole(role: V1Role, functionName: string): boolean {
  const rules = (role.rules ?? []).map((r) => ({
    apiGroups: r.apiGroups ?? [],
    resources: r.resources ?? [],
    verbs: r.verbs ?? [],
    resourceNames: r.resourceNames ?? [],
  }));
  return JSON.stringify(rules) === JSON.stringify(invokeRules(functionName));
}

export function statementBinding(
  fn: FunctionOwner,
  statement: PolicyStatement,
  principal: string,
): V1RoleBinding {
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'RoleBinding',
    metadata: {
      name: statementBindingName(fn.metadata.name, statement.Sid),
      namespace: fn.metadata.namespace,
      labels: functionLabels(fn.metadata.name),
      annotations: {
        [STATEMENT_ID_ANNOTATION]: statement.Sid,
        [STATEMENT_ANNOTATION]: JSON.stringify(statement),
      },
      ownerReferences: ownedBy(fn),
    },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name: invokeRoleName(fn.metadata.name) },
    subjects: [principalSubject(principal)],
  };
}

/** The statement a binding of this function carries, or undefined for any other binding. */
export function bindingStatement(binding: V1RoleBinding, functionName: string): PolicyStatement | undefined {
  const meta = binding.metadata;
  if (meta?.labels?.[POLICY_FUNCTION_LABEL] !== functionName || meta.deletionTimestamp) return undefined;
  if (binding.roleRef.kind !== 'Role' || binding.roleRef.name !== invokeRoleName(functionName))
    return undefined;
  const text = meta.annotations?.[STATEMENT_ANNOTATION];
  const subject = binding.subjects?.length === 1 ? binding.subjects[0]! : undefined;
  if (!text || !subject) return undefined;
  let statement: PolicyStatement;
  try {
    statement = JSON.parse(text) as PolicyStatement;
  } catch {
    return undefined;
  }
  if (statement.Sid !== meta.annotations?.[STATEMENT_ID_ANNOTATION]) return undefined;
  // The subject decides who may invoke: a statement edited to say otherwise shows the subject.
  const written = statement.Principal === '*' ? '*' : statement.Principal?.AWS;
  if (written === undefined || !sameSubject(safeSubject(written), subject)) {
    const actual = subjectPrincipal(subject);
    statement = { ...statement, Principal: actual === '*' ? '*' : { AWS: actual } };
  }
  return statement;
}

function safeSubject(principal: string): V1Subject | undefined {
  try {
    return principalSubject(principal);
  } catch {
    return undefined;
  }
}

function sameSubject(a: V1Subject | undefined, b: V1Subject): boolean {
  return (
    a !== undefined && a.kind === b.kind && a.name === b.name && (a.namespace ?? '') === (b.namespace ?? '')
  );
}

/** An RBAC subject in the principal form GetPolicy shows. */
export function subjectPrincipal(subject: V1Subject): string {
  if (subject.kind === 'ServiceAccount')
    return `system:serviceaccount:${subject.namespace ?? ''}:${subject.name}`;
  if (subject.kind === 'User') return `user:${subject.name}`;
  if (subject.name === 'system:authenticated') return '*';
  const namespace = /^system:serviceaccounts:([^:]+)$/.exec(subject.name);
  return namespace ? `arn:aws:iam::${namespace[1]}:root` : `group:${subject.name}`;
}

/** Lambda's policy document (GetPolicy's `Policy`), statements in Sid order. */
export function policyDocument(statements: readonly PolicyStatement[]): string {
  const sorted = [...statements].sort((a, b) => (a.Sid < b.Sid ? -1 : a.Sid > b.Sid ? 1 : 0));
  return JSON.stringify({ Version: '2012-10-17', Id: 'default', Statement: sorted });
}
