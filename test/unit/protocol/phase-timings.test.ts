import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AGENT_HEADERS, phaseHeaders, phasesFrom } from '../../../operator/src/protocol/index.js';

describe('phase timings in the agent protocol', () => {
  it('go out as headers with two decimals and come back as numbers', () => {
    const headers = phaseHeaders({ initStartMs: -312.456, invokeStartMs: 0.2, invokeDurationMs: 41.005 });
    assert.deepEqual(headers, {
      [AGENT_HEADERS.initStartMs]: '-312.46',
      [AGENT_HEADERS.invokeStartMs]: '0.20',
      [AGENT_HEADERS.invokeDurationMs]: '41.01',
    });
    assert.deepEqual(phasesFrom(headers), {
      initStartMs: -312.46,
      invokeStartMs: 0.2,
      invokeDurationMs: 41.01,
    });
  });

  it('leave Init out when none is reported, and are absent from an agent that sends none', () => {
    assert.deepEqual(phasesFrom(phaseHeaders({ invokeStartMs: 1, invokeDurationMs: 2 })), {
      invokeStartMs: 1,
      invokeDurationMs: 2,
    });
    assert.equal(phasesFrom({}), undefined);
    assert.equal(
      phasesFrom({ [AGENT_HEADERS.invokeStartMs]: 'x', [AGENT_HEADERS.invokeDurationMs]: '1' }),
      undefined,
    );
  });
});
