import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  planProvisioned,
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
