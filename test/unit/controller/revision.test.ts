import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FunctionSpec } from '../../../operator/src/api/index.js';
import { revisionIdOf } from '../../../operator/src/controller/revision.js';

const spec = (overrides: Partial<FunctionSpec> = {}): FunctionSpec => ({
  runtime: 'nodejs20.x',
  handler: 'index.handler',
  code: { inline: { 'index.js': 'x' } },
  memorySize: 128,
  timeout: 3,
  publish: false,
  ...overrides,
});
const code = 'c'.repeat(64);

describe('revisionIdOf', () => {
  it('is a UUID-shaped digest, stable for the same inputs whatever the key order', () => {
    const a = revisionIdOf(spec({ environment: { variables: { A: '1', B: '2' } } }), code, []);
    const b = revisionIdOf(spec({ environment: { variables: { B: '2', A: '1' } } }), code, []);
    assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(a, b);
  });

  it('changes with configuration, code digest and pinned layers', () => {
    const base = revisionIdOf(spec(), code, []);
    assert.notEqual(revisionIdOf(spec({ memorySize: 256 }), code, []), base);
    assert.notEqual(revisionIdOf(spec(), 'd'.repeat(64), []), base);
    assert.notEqual(
      revisionIdOf(spec(), code, [{ namespace: 'n', name: 'l', version: 1, sha256: 'e'.repeat(64) }]),
      base,
    );
  });

  it('ignores the publish switch and the form of the code source (only its digest counts)', () => {
    const base = revisionIdOf(spec(), code, []);
    assert.equal(revisionIdOf(spec({ publish: true }), code, []), base);
    assert.equal(revisionIdOf(spec({ code: { sha256: code } }), code, []), base);
  });
});
