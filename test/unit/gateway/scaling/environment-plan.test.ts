import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  planProvisioned,
  selectCapacityVictims,
  selectIdleToReclaim,
  type EnvironmentView,
} from '../../../../operator/src/gateway/scaling/environment-plan.js';

const env = (id: string, extra: Partial<EnvironmentView> = {}): EnvironmentView => ({
  id,
  key: 'ns/f/1/h',
  state: 'idle',
  initializationType: 'on-demand',
  idleSince: 0,
  ...extra,
});

describe('selectIdleToReclaim', () => {
  it('reclaims on-demand environments idle for the idle timeout, scaling to zero', () => {
    const envs = [env('a', { idleSince: 0 }), env('b', { idleSince: 500 }), env('c', { state: 'busy' })];
    assert.deepEqual(selectIdleToReclaim(envs, 999, 1000), []);
    assert.deepEqual(selectIdleToReclaim(envs, 1000, 1000), ['a']);
    assert.deepEqual(selectIdleToReclaim(envs, 1500, 1000), ['a', 'b']);
  });

  it('never reclaims provisioned environments', () => {
    const envs = [env('p', { initializationType: 'provisioned-concurrency' })];
    assert.deepEqual(selectIdleToReclaim(envs, 10_000_000, 1000), []);
  });
});

describe('selectCapacityVictims', () => {
  const other = (id: string, idleSince: number, memorySize: number, extra: Partial<EnvironmentView> = {}) =>
    env(id, { key: `ns/${id}/1/h`, idleSince, memorySize, ...extra });

  it('takes idle environments of other functions, least recently used first, until they add up', () => {
    const envs = [other('new', 30, 512), other('old', 10, 512), other('mid', 20, 512)];
    assert.deepEqual(selectCapacityVictims(envs, 'ns/f/1/h', 1000), ['old', 'mid']);
    assert.deepEqual(selectCapacityVictims(envs, 'ns/f/1/h', 512), ['old']);
  });

  it('destroys nothing in vain: none when all of them together are too small', () => {
    const envs = [other('a', 1, 128), other('b', 2, 128)];
    assert.deepEqual(selectCapacityVictims(envs, 'ns/f/1/h', 10_240), []);
  });

  it('never takes busy, provisioned or the same function environments', () => {
    const envs = [
      other('busy', 1, 4096, { state: 'busy' }),
      other('prov', 1, 4096, { initializationType: 'provisioned-concurrency' }),
      env('same', { idleSince: 1, memorySize: 4096 }),
    ];
    assert.deepEqual(selectCapacityVictims(envs, 'ns/f/1/h', 128), []);
  });
});

describe('planProvisioned', () => {
  const p = (id: string, state: EnvironmentView['state'], key = 'ns/f/1/h') =>
    env(id, { initializationType: 'provisioned-concurrency', state, key });

  it('creates the missing provisioned environments', () => {
    const plan = planProvisioned(new Map([['ns/f/1/h', 3]]), [p('a', 'idle'), env('od')]);
    assert.deepEqual([...plan.create], [['ns/f/1/h', 2]]);
    assert.deepEqual(plan.destroy, []);
  });

  it('removes excess idle ones first and retires busy ones after their invoke', () => {
    const plan = planProvisioned(new Map([['ns/f/1/h', 1]]), [
      p('busy1', 'busy'),
      p('idle1', 'idle'),
      p('s1', 'starting'),
    ]);
    assert.deepEqual(plan.destroy, ['idle1', 's1']);
    assert.deepEqual(plan.retire, []);
    const none = planProvisioned(new Map(), [p('busy1', 'busy'), p('idle1', 'idle')]);
    assert.deepEqual(none.destroy, ['idle1']);
    assert.deepEqual(none.retire, ['busy1']);
  });

  it('replaces provisioned environments of an old configuration', () => {
    const plan = planProvisioned(new Map([['ns/f/2/h', 1]]), [p('old', 'idle', 'ns/f/1/h')]);
    assert.deepEqual([...plan.create], [['ns/f/2/h', 1]]);
    assert.deepEqual(plan.destroy, ['old']);
  });
});
