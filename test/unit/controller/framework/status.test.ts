import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setConditions } from '../../../../operator/src/controller/framework/conditions.js';
import { STATUS_MESSAGE_MAX, clip } from '../../../../operator/src/shared/status-text.js';
import { statusPatch } from '../../../../operator/src/controller/framework/status-patch.js';

describe('setConditions', () => {
  it('keeps lastTransitionTime while the status is unchanged and moves it on a change', () => {
    const first = setConditions(undefined, [{ type: 'Ready', status: 'False', reason: 'Creating' }], 'T1', 1);
    const same = setConditions(first, [{ type: 'Ready', status: 'False', reason: 'StillCreating' }], 'T2', 2);
    assert.equal(same[0]?.lastTransitionTime, 'T1');
    assert.equal(same[0]?.reason, 'StillCreating');
    assert.equal(same[0]?.observedGeneration, 2);
    const flipped = setConditions(same, [{ type: 'Ready', status: 'True', reason: 'Active' }], 'T3', 2);
    assert.equal(flipped[0]?.lastTransitionTime, 'T3');
  });

  it('cuts a long condition message to the status limit', () => {
    const [condition] = setConditions(
      undefined,
      [{ type: 'Ready', status: 'False', reason: 'X', message: 'm'.repeat(5000) }],
      'T1',
    );
    assert.equal(condition?.message?.length, STATUS_MESSAGE_MAX);
    assert.ok(condition?.message?.endsWith('…'));
  });

  it('adds new condition types and leaves others alone', () => {
    const base = setConditions(undefined, [{ type: 'A', status: 'True', reason: 'x' }], 'T1');
    const next = setConditions(base, [{ type: 'B', status: 'True', reason: 'y' }], 'T2');
    assert.deepEqual(
      next.map((c) => c.type),
      ['A', 'B'],
    );
  });
});

describe('statusPatch', () => {
  it('is undefined when nothing owned changed, so an idempotent reconcile writes nothing', () => {
    assert.equal(
      statusPatch({ state: 'Active', url: 'x' }, { state: 'Active', url: 'y' }, ['state']),
      undefined,
    );
  });

  it('sets changed fields and nulls the ones to remove, touching only owned keys', () => {
    const patch = statusPatch(
      { state: 'Failed', stateReason: 'bad', url: 'keep' } as Record<string, unknown>,
      { state: 'Active', stateReason: undefined },
      ['state', 'stateReason'],
    );
    assert.deepEqual(patch, { state: 'Active', stateReason: null });
  });
});

describe('clip', () => {
  it('leaves a message at the limit alone and cuts one past it, marking the cut', () => {
    assert.equal(clip('a'.repeat(STATUS_MESSAGE_MAX)), 'a'.repeat(STATUS_MESSAGE_MAX));
    assert.equal(clip('a'.repeat(STATUS_MESSAGE_MAX + 1)), `${'a'.repeat(STATUS_MESSAGE_MAX - 1)}…`);
    assert.equal(clip('https://example.com/x', 10), 'https://e…');
  });
});
