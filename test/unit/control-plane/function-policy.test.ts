import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1RoleBinding } from '@kubernetes/client-node';
import {
  bindingStatement,
  invokeRole,
  isInvokeRole,
  policyDocument,
  principalSubject,
  statementBinding,
  statementBindingName,
  statementOf,
  type AddPermissionInput,
} from '../../../operator/src/control-plane/function-policy.js';

const ARN = 'arn:aws:lambda:us-east-1:team-a:function:hello';
const fn = {
  apiVersion: 'lamina.dev/v1alpha1',
  kind: 'Function',
  metadata: { name: 'hello', namespace: 'team-a', uid: 'uid-1' },
};
const add = (overrides: Partial<AddPermissionInput> = {}): AddPermissionInput => ({
  StatementId: 'allow-caller',
  Action: 'lambda:InvokeFunction',
  Principal: 'arn:aws:iam::team-b:role/lamina/caller',
  ...overrides,
});
const refusal = (call: () => unknown) => {
  try {
    call();
  } catch (err) {
    return { name: (err as Error & { code: string }).code, message: (err as Error).message };
  }
  throw new Error('not refused');
};
const GROUP = 'rbac.authorization.k8s.io';

describe('function policy principals → RBAC subjects', () => {
  it('maps each documented principal form to the subject RBAC knows', () => {
    assert.deepEqual(principalSubject('*'), { kind: 'Group', apiGroup: GROUP, name: 'system:authenticated' });
    assert.deepEqual(principalSubject('arn:aws:iam::team-b:role/lamina/caller'), {
      kind: 'ServiceAccount',
      name: 'caller',
      namespace: 'team-b',
    });
    assert.deepEqual(principalSubject('system:serviceaccount:team-b:caller'), {
      kind: 'ServiceAccount',
      name: 'caller',
      namespace: 'team-b',
    });
    assert.deepEqual(principalSubject('arn:aws:iam::team-b:root'), {
      kind: 'Group',
      apiGroup: GROUP,
      name: 'system:serviceaccounts:team-b',
    });
    assert.deepEqual(principalSubject('team-b'), {
      kind: 'Group',
      apiGroup: GROUP,
      name: 'system:serviceaccounts:team-b',
    });
    assert.deepEqual(principalSubject('user:alice@example.com'), {
      kind: 'User',
      apiGroup: GROUP,
      name: 'alice@example.com',
    });
    assert.deepEqual(principalSubject('group:oidc:platform'), {
      kind: 'Group',
      apiGroup: GROUP,
      name: 'oidc:platform',
    });
  });

  it('refuses AWS service and IAM principals with InvalidParameterValueException naming the accepted forms', () => {
    for (const principal of [
      's3.amazonaws.com',
      'events.amazonaws.com',
      'arn:aws:iam::123456789012:role/service-role/x',
      'arn:aws:iam::123456789012:user/bob',
      'arn:aws:iam::Not_A_Namespace:root',
      'system:serviceaccount:Bad:x',
      'user:has space',
      'Some.Thing',
    ]) {
      const r = refusal(() => principalSubject(principal));
      assert.equal(r.name, 'InvalidParameterValueException', principal);
      assert.match(r.message, /arn:aws:iam::<namespace>:role\/lamina\/<serviceaccount>/);
      assert.match(r.message, new RegExp(principal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    }
  });
});

describe('AddPermission → statement', () => {
  it('renders the statement Lambda returns, with the function ARN as Resource', () => {
    assert.deepEqual(statementOf(add(), ARN), {
      Sid: 'allow-caller',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::team-b:role/lamina/caller' },
      Action: 'lambda:InvokeFunction',
      Resource: ARN,
    });
    assert.equal(statementOf(add({ Principal: '*' }), ARN).Principal, '*');
    assert.deepEqual(
      statementOf(add({ Action: 'lambda:InvokeFunctionUrl', FunctionUrlAuthType: 'AWS_IAM' }), ARN).Condition,
      { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } },
    );
  });

  it('refuses actions other than invoking, conditions RBAC cannot check, and bad statement ids', () => {
    assert.equal(
      refusal(() => statementOf(add({ Action: 'lambda:GetFunction' }), ARN)).name,
      'InvalidParameterValueException',
    );
    const condition = refusal(() => statementOf(add({ SourceArn: 'arn:aws:s3:::bucket' }), ARN));
    assert.equal(condition.name, 'InvalidParameterValueException');
    assert.match(condition.message, /SourceArn cannot be enforced/);
    assert.equal(
      refusal(() => statementOf(add({ PrincipalOrgID: 'o-1' }), ARN)).name,
      'InvalidParameterValueException',
    );
    assert.equal(
      refusal(() => statementOf(add({ StatementId: 'has.dot' }), ARN)).name,
      'ValidationException',
    );
    assert.equal(
      refusal(() => statementOf(add({ StatementId: 'x'.repeat(101) }), ARN)).name,
      'ValidationException',
    );
    assert.equal(
      refusal(() => statementOf(add({ FunctionUrlAuthType: 'AWS_IAM' }), ARN)).name,
      'InvalidParameterValueException',
    );
    assert.equal(
      refusal(() => statementOf(add({ Principal: 's3.amazonaws.com' }), ARN)).name,
      'InvalidParameterValueException',
    );
  });
});

describe('statement ↔ RoleBinding', () => {
  it("binds the function's invoke Role to the principal, labelled and annotated, owned by the Function", () => {
    const statement = statementOf(add(), ARN);
    const binding = statementBinding(fn, statement, add().Principal);
    assert.equal(binding.metadata?.name, 'lamina-policy-hello.allow-caller');
    assert.equal(binding.metadata?.namespace, 'team-a');
    assert.deepEqual(binding.metadata?.labels, { 'lamina.dev/function': 'hello' });
    assert.equal(binding.metadata?.annotations?.['lamina.dev/statement-id'], 'allow-caller');
    assert.deepEqual(JSON.parse(binding.metadata?.annotations?.['lamina.dev/statement'] ?? ''), statement);
    assert.deepEqual(binding.metadata?.ownerReferences, [
      { apiVersion: 'lamina.dev/v1alpha1', kind: 'Function', name: 'hello', uid: 'uid-1' },
    ]);
    assert.deepEqual(binding.roleRef, { apiGroup: GROUP, kind: 'Role', name: 'lamina-invoke-hello' });
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'caller', namespace: 'team-b' }]);
    assert.deepEqual(bindingStatement(binding, 'hello'), statement);
  });

  it('names bindings so that no two functions and statement ids share one', () => {
    assert.notEqual(statementBindingName('a-b', 'c'), statementBindingName('a', 'b-c'));
    assert.notEqual(statementBindingName('a.b', 'c'), statementBindingName('a', 'b-c'));
  });

  it('reads back only bindings of this function, to its invoke Role, with a matching statement', () => {
    const binding = statementBinding(fn, statementOf(add(), ARN), add().Principal);
    assert.equal(bindingStatement(binding, 'other'), undefined);
    const otherRole: V1RoleBinding = { ...binding, roleRef: { ...binding.roleRef, name: 'admin' } };
    assert.equal(bindingStatement(otherRole, 'hello'), undefined);
    const unannotated: V1RoleBinding = { ...binding, metadata: { ...binding.metadata, annotations: {} } };
    assert.equal(bindingStatement(unannotated, 'hello'), undefined);
  });

  it('shows the subject the binding really has when the annotation says otherwise', () => {
    const binding = statementBinding(fn, statementOf(add(), ARN), add().Principal);
    const edited: V1RoleBinding = {
      ...binding,
      subjects: [{ kind: 'Group', apiGroup: GROUP, name: 'system:authenticated' }],
    };
    assert.equal(bindingStatement(edited, 'hello')?.Principal, '*');
    const user: V1RoleBinding = {
      ...binding,
      subjects: [{ kind: 'User', apiGroup: GROUP, name: 'mallory' }],
    };
    assert.deepEqual(bindingStatement(user, 'hello')?.Principal, { AWS: 'user:mallory' });
  });

  it('renders the policy document GetPolicy returns, statements in Sid order', () => {
    const b = statementOf(add({ StatementId: 'b', Principal: '*' }), ARN);
    const a = statementOf(add({ StatementId: 'a' }), ARN);
    assert.deepEqual(JSON.parse(policyDocument([b, a])), {
      Version: '2012-10-17',
      Id: 'default',
      Statement: [a, b],
    });
  });
});

describe('the invoke Role', () => {
  it('grants exactly invoke on the one function, and an existing Role with more is not it', () => {
    const role = invokeRole(fn);
    assert.equal(role.metadata?.name, 'lamina-invoke-hello');
    assert.deepEqual(role.rules, [
      { apiGroups: ['lamina.dev'], resources: ['functions'], verbs: ['invoke'], resourceNames: ['hello'] },
    ]);
    assert.equal(isInvokeRole(role, 'hello'), true);
    assert.equal(isInvokeRole(role, 'other'), false);
    const wider = {
      ...role,
      rules: [...role.rules!, { apiGroups: [''], resources: ['pods'], verbs: ['create'] }],
    };
    assert.equal(isInvokeRole(wider, 'hello'), false);
  });

  it('refuses a function name too long for the label that finds its statements', () => {
    const long = { ...fn, metadata: { ...fn.metadata, name: 'f'.repeat(64) } };
    assert.equal(refusal(() => invokeRole(long)).name, 'InvalidParameterValueException');
  });
});
