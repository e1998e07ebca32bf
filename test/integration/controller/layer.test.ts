// Layers against a real API server: immutable versions per content change, sharing across
// namespaces, deleted versions kept for functions that pinned them, runtime compatibility.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Layer } from '../../../operator/src/api/index.js';
import {
  eventsFor,
  eventually,
  fnObject,
  layerObject,
  setUp,
  waitForFunction,
  type Environment,
} from './fixtures.js';

describe('Layer reconciler and layer pinning', () => {
  let env: Environment;
  let home: string; // the namespace owning the layers
  let other: string; // a namespace using them

  before(async () => {
    env = await setUp('op-layer', 2);
    [home, other] = env.namespaces as [string, string];
  });
  after(() => env?.dispose());

  const layerStatus = (namespace: string, name: string, test: (layer: Layer) => void) =>
    eventually(async () => {
      const layer = await env.api.layers.get(namespace, name);
      assert.ok(layer);
      test(layer);
      return layer;
    });

  it('makes version 1 for the first content and none for unchanged content', async () => {
    await env.api.layers.create(home, layerObject('deps', { compatibleRuntimes: ['nodejs20.x'] }));
    const first = await layerStatus(home, 'deps', (l) => assert.equal(l.status?.latestVersion, 1));
    assert.equal(first.status?.state, 'Active');
    assert.equal(first.status?.versions?.length, 1);
    assert.match(first.status?.versions?.[0]?.sha256 ?? '', /^[a-f0-9]{64}$/);
    assert.deepEqual(first.status?.versions?.[0]?.compatibleRuntimes, ['nodejs20.x']);
    await env.api.layers.patch(home, 'deps', { spec: { description: 'same content' } });
    await layerStatus(home, 'deps', (l) => assert.equal(l.status?.observedGeneration, l.metadata.generation));
    const again = await env.api.layers.get(home, 'deps');
    assert.equal(again?.status?.versions?.length, 1, 'no new version for unchanged content');
  });

  it('appends version 2 when the content changes, keeping version 1 as it was', async () => {
    const before = await env.api.layers.get(home, 'deps');
    await env.api.layers.patch(home, 'deps', {
      spec: { content: { inline: { 'nodejs/node_modules/lib/index.js': 'module.exports = 2;' } } },
    });
    const after = await layerStatus(home, 'deps', (l) => assert.equal(l.status?.latestVersion, 2));
    assert.deepEqual(after.status?.versions?.[0], before?.status?.versions?.[0]);
    assert.notEqual(after.status?.versions?.[1]?.sha256, after.status?.versions?.[0]?.sha256);
    await eventually(async () => {
      const events = await eventsFor(env.kc, home, 'deps');
      assert.ok(events.some((e) => e.reason === 'LayerVersionCreated' && e.message.includes('version 2')));
    });
  });

  it('pins a same-namespace layer version with its digest', async () => {
    await env.api.functions.create(home, fnObject('local', { layers: [{ name: 'deps', version: 1 }] }));
    const fn = await waitForFunction(env.api, home, 'local', 'Active');
    const layer = await env.api.layers.get(home, 'deps');
    assert.deepEqual(
      fn.status?.layers?.map((p) => [p.namespace, p.name, p.version, p.sha256]),
      [[home, 'deps', 1, layer?.status?.versions?.[0]?.sha256]],
    );
  });

  it('refuses a layer from another namespace that is not shared with it', async () => {
    await env.api.functions.create(
      other,
      fnObject('borrower', { layers: [{ name: `${home}/deps`, version: 2 }] }),
    );
    const fn = await waitForFunction(env.api, other, 'borrower', 'Failed');
    assert.equal(fn.status?.stateReasonCode, 'LayerAccessDenied');
    assert.match(fn.status?.stateReason ?? '', new RegExp(`not shared with namespace ${other}`));
    assert.equal(fn.status?.conditions?.find((c) => c.type === 'LayersResolved')?.status, 'False');
  });

  it('accepts it once the layer is shared with that namespace', async () => {
    await env.api.layers.patch(home, 'deps', { spec: { sharing: { namespaces: [other] } } });
    const fn = await waitForFunction(env.api, other, 'borrower', 'Active');
    assert.equal(fn.status?.layers?.[0]?.namespace, home);
    assert.equal(fn.status?.layers?.[0]?.version, 2);
  });

  it('keeps a deleted layer version for the function that pinned it, and refuses new references', async () => {
    await env.api.layers.patch(home, 'deps', { spec: { deletedVersions: [1] } });
    await layerStatus(home, 'deps', (l) => assert.equal(l.status?.versions?.[0]?.deleted, true));
    // The pinned function stays Active, even through an unrelated change.
    await env.api.functions.patch(home, 'local', { spec: { memorySize: 512 } });
    await eventually(async () => {
      const fn = await waitForFunction(env.api, home, 'local', 'Active');
      assert.equal(fn.spec.memorySize, 512);
      assert.equal(fn.status?.layers?.[0]?.version, 1);
    });
    // A new function cannot reference it.
    await env.api.functions.create(home, fnObject('newcomer', { layers: [{ name: 'deps', version: 1 }] }));
    const fn = await waitForFunction(env.api, home, 'newcomer', 'Failed');
    assert.equal(fn.status?.stateReasonCode, 'LayerNotFound');
    assert.match(
      fn.status?.stateReason ?? '',
      /was deleted and cannot be newly referenced; the latest version is 2/,
    );
  });

  it('refuses a layer version that does not exist, then resolves when the layer appears', async () => {
    await env.api.functions.create(home, fnObject('early', { layers: [{ name: 'later', version: 1 }] }));
    const failed = await waitForFunction(env.api, home, 'early', 'Failed');
    assert.equal(failed.status?.stateReasonCode, 'LayerNotFound');
    await env.api.layers.create(home, layerObject('later'));
    await waitForFunction(env.api, home, 'early', 'Active');
  });

  it('refuses a layer version that is not compatible with the runtime', async () => {
    await env.api.functions.create(
      home,
      fnObject('py', {
        runtime: 'python3.13',
        handler: 'app.handler',
        layers: [{ name: 'deps', version: 2 }],
      }),
    );
    const fn = await waitForFunction(env.api, home, 'py', 'Failed');
    assert.equal(fn.status?.stateReasonCode, 'InvalidParameterValueException');
    assert.match(fn.status?.stateReason ?? '', /not compatible with runtime python3\.13/);
  });
});
