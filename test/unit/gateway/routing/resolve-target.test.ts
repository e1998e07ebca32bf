import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ResourceConflictException, ResourceNotFoundException } from '../../../../operator/src/errors.js';
import { MemoryCatalog } from '../../../../operator/src/gateway/catalog/catalog.js';
import { resolveTarget } from '../../../../operator/src/gateway/routing/resolve-target.js';
import { pickWeightedVersion } from '../../../../operator/src/gateway/routing/weighted-routing.js';
import { activeFunction, alias, publishedVersion } from '../fixtures.js';

function catalog() {
  const c = new MemoryCatalog();
  c.upsertFunction(activeFunction('calc'));
  c.upsertVersion(publishedVersion('calc', 1));
  c.upsertVersion(publishedVersion('calc', 2));
  c.upsertAlias(alias('calc', 'live', '1'));
  c.upsertAlias(alias('calc', 'canary', '1', { routingConfig: { additionalVersionWeights: { '2': 0.25 } } }));
  c.upsertAlias(alias('calc', 'edge', '$LATEST'));
  return c;
}
const never = () => 0.99;
const ns = 'default';

describe('resolveTarget', () => {
  it('runs $LATEST when unqualified, from the function spec', () => {
    const t = resolveTarget(catalog(), { namespace: ns, name: 'calc' }, 'us-east-1', never);
    assert.equal(t.version, '$LATEST');
    assert.equal(t.snapshot.revisionId, 'rev-1');
    assert.equal(t.invokedFunctionArn, 'arn:aws:lambda:us-east-1:default:function:calc');
  });

  it('runs a published version by number', () => {
    const t = resolveTarget(catalog(), { namespace: ns, name: 'calc', qualifier: '2' }, 'us-east-1', never);
    assert.equal(t.version, '2');
    assert.equal(t.snapshot.description, 'v2');
    assert.equal(t.invokedFunctionArn, 'arn:aws:lambda:us-east-1:default:function:calc:2');
  });

  it('resolves an alias to its version and keeps the alias ARN as the invoked ARN', () => {
    const t = resolveTarget(
      catalog(),
      { namespace: ns, name: 'calc', qualifier: 'live' },
      'us-east-1',
      never,
    );
    assert.equal(t.version, '1');
    assert.equal(t.alias, 'live');
    assert.equal(t.invokedFunctionArn, 'arn:aws:lambda:us-east-1:default:function:calc:live');
  });

  it('resolves an alias on $LATEST', () => {
    const t = resolveTarget(catalog(), { namespace: ns, name: 'calc', qualifier: 'edge' }, 'r', never);
    assert.equal(t.version, '$LATEST');
  });

  it('sends the weighted share to the additional version', () => {
    const c = catalog();
    const ref = { namespace: ns, name: 'calc', qualifier: 'canary' };
    assert.equal(resolveTarget(c, ref, 'r', () => 0.1).version, '2');
    assert.equal(resolveTarget(c, ref, 'r', () => 0.25).version, '1');
    assert.equal(resolveTarget(c, ref, 'r', () => 0.9).version, '1');
  });

  it('answers 404 with the qualified ARN for an unknown function, version or alias', () => {
    const c = catalog();
    const cases: Array<[string | undefined, string]> = [
      [undefined, 'Function not found: arn:aws:lambda:us-east-1:default:function:nope'],
    ];
    for (const [qualifier, message] of cases) {
      assert.throws(
        () =>
          resolveTarget(
            c,
            { namespace: ns, name: 'nope', ...(qualifier ? { qualifier } : {}) },
            'us-east-1',
            never,
          ),
        (e: unknown) => e instanceof ResourceNotFoundException && e.message === message,
      );
    }
    assert.throws(
      () => resolveTarget(c, { namespace: ns, name: 'calc', qualifier: '9' }, 'us-east-1', never),
      { message: 'Function not found: arn:aws:lambda:us-east-1:default:function:calc:9' },
    );
    assert.throws(
      () => resolveTarget(c, { namespace: ns, name: 'calc', qualifier: 'blue' }, 'us-east-1', never),
      { message: 'Function not found: arn:aws:lambda:us-east-1:default:function:calc:blue' },
    );
  });

  it('does not find a function in another namespace', () => {
    assert.throws(
      () => resolveTarget(catalog(), { namespace: 'other', name: 'calc' }, 'r', never),
      ResourceNotFoundException,
    );
  });

  it('refuses $LATEST while the function is Pending', () => {
    const c = new MemoryCatalog();
    const fn = activeFunction('calc');
    fn.status = { state: 'Pending' };
    c.upsertFunction(fn);
    assert.throws(
      () => resolveTarget(c, { namespace: ns, name: 'calc' }, 'r', never),
      (e: unknown) =>
        e instanceof ResourceConflictException &&
        e.message ===
          'The operation cannot be performed at this time. The function is currently in the following state: Pending',
    );
  });
});

describe('pickWeightedVersion', () => {
  it('routes about the configured share to the additional version', () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let extra = 0;
    for (let i = 0; i < 10_000; i++) if (pickWeightedVersion('1', { '2': 0.1 }, random) === '2') extra++;
    assert.ok(extra > 850 && extra < 1150, `got ${extra}`);
  });

  it('always picks the primary without routing', () => {
    assert.equal(
      pickWeightedVersion('3', undefined, () => 0),
      '3',
    );
    assert.equal(
      pickWeightedVersion('3', {}, () => 0),
      '3',
    );
  });
});
