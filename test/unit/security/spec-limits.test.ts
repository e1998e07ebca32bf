import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FunctionSpec, environmentSize, limits } from '../../../operator/src/api/index.js';
import { accepted, environmentOverLimit, refused } from '../../fixtures/hostile/specs.js';

describe('Function specs at and past every limit', () => {
  for (const c of accepted) {
    it(`accepts ${c.name}`, () => {
      const result = FunctionSpec.safeParse(c.spec);
      assert.ok(result.success, JSON.stringify(result.error?.issues));
    });
  }
  for (const c of refused) {
    it(`refuses ${c.name}, naming ${c.field}`, () => {
      const result = FunctionSpec.safeParse(c.spec);
      assert.equal(result.success, false);
      const paths = result.error!.issues.map((i) => i.path.join('.')).join(' ');
      assert.ok(paths.includes(c.field!), `${paths} should name ${c.field}`);
    });
  }

  it('measures the 4 KB environment boundary on the JSON: 4096 fits, 4097 does not', () => {
    const exact = accepted.find((c) => c.name === 'environment of exactly 4 KB')!.spec as {
      environment: { variables: Record<string, string> };
    };
    assert.equal(environmentSize(exact.environment.variables), limits.environmentBytes);
    assert.equal(environmentSize(environmentOverLimit), limits.environmentBytes + 1);
    // Multi-byte characters count as bytes, the way Lambda measures.
    assert.equal(environmentSize({ VV: 'é' }), '{"VV":""}'.length + 2);
  });
});
