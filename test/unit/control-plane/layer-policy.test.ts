// Layer version permissions → the Layer's sharing list, pure.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addStatement,
  principalNamespace,
  removeStatement,
} from '../../../operator/src/control-plane/layer-policy.js';

const grant = (sid: string, principal: string) => ({
  StatementId: sid,
  Action: 'lambda:GetLayerVersion',
  Principal: principal,
});

describe('layer permissions', () => {
  it('reads a principal as a namespace, an account root ARN or everyone', () => {
    assert.equal(principalNamespace('team-b'), 'team-b');
    assert.equal(principalNamespace('arn:aws:iam::team-b:root'), 'team-b');
    assert.equal(principalNamespace('*'), '*');
    assert.throws(() => principalNamespace('Team_B'), { code: 'InvalidParameterValueException' });
  });

  it('removes a namespace from sharing only when no other statement grants it and kubectl had not', () => {
    let state = addStatement({}, ['ops'], grant('a', 'team-b'), 1);
    state = addStatement(state.policy, state.sharing, grant('b', 'team-b'), 2);
    state = addStatement(state.policy, state.sharing, grant('c', 'ops'), 1);
    assert.deepEqual(state.sharing, ['ops', 'team-b']);
    state = removeStatement(state.policy, state.sharing, 'a', 1);
    assert.deepEqual(state.sharing, ['ops', 'team-b'], 'statement b still grants team-b');
    state = removeStatement(state.policy, state.sharing, 'b', 2);
    assert.deepEqual(state.sharing, ['ops']);
    state = removeStatement(state.policy, state.sharing, 'c', 1);
    assert.deepEqual(state.sharing, ['ops'], 'ops was shared before any statement');
  });

  it("refuses duplicates, other actions, organizations and statements that don't exist", () => {
    const { policy } = addStatement({}, [], grant('a', '*'), 1);
    assert.throws(() => addStatement(policy, [], grant('a', 'x'), 1), { code: 'ResourceConflictException' });
    assert.throws(() => addStatement({}, [], { ...grant('b', 'x'), Action: 'lambda:InvokeFunction' }, 1), {
      code: 'ValidationException',
    });
    assert.throws(() => addStatement({}, [], { ...grant('b', '*'), OrganizationId: 'o-1' }, 1), {
      code: 'InvalidParameterValueException',
    });
    assert.throws(() => removeStatement(policy, [], 'a', 2), { code: 'ResourceNotFoundException' });
  });
});
