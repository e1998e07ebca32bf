import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Layer, PinnedLayer } from '../../../operator/src/api/index.js';
import { resolveLayerPins } from '../../../operator/src/controller/layer-pins.js';

const d = (c: string) => c.repeat(64);

function layer(
  namespace: string,
  name: string,
  options: { shared?: string[]; deleted?: number[]; runtimes?: string[] } = {},
): Layer {
  return {
    apiVersion: 'lamina.dev/v1alpha1',
    kind: 'Layer',
    metadata: { name, namespace },
    spec: {
      content: { inline: {} },
      ...(options.shared && { sharing: { namespaces: options.shared } }),
      ...(options.deleted && { deletedVersions: options.deleted }),
    },
    status: {
      latestVersion: 2,
      versions: [1, 2].map((version) => ({
        version,
        sha256: d(String(version)),
        size: 100,
        unzippedSize: 1000,
        createdAt: 'T',
        ...(options.runtimes && { compatibleRuntimes: options.runtimes as ['nodejs20.x'] }),
        ...(options.deleted?.includes(version) && { deleted: true }),
      })),
    },
  } as Layer;
}

function resolve(
  layers: Layer[],
  references: Array<{ name: string; version: number }>,
  previous: PinnedLayer[] = [],
) {
  return resolveLayerPins({
    functionNamespace: 'app',
    runtime: 'nodejs20.x',
    references,
    previous,
    lookup: (ns, name) => layers.find((l) => l.metadata.namespace === ns && l.metadata.name === name),
  });
}

describe('resolveLayerPins', () => {
  it('pins same-namespace layers in order, with digests and sizes', () => {
    const result = resolve(
      [layer('app', 'a'), layer('app', 'b')],
      [
        { name: 'b', version: 2 },
        { name: 'a', version: 1 },
      ],
    );
    assert.deepEqual(result, {
      ok: true,
      pins: [
        { namespace: 'app', name: 'b', version: 2, sha256: d('2'), size: 100, unzippedSize: 1000 },
        { namespace: 'app', name: 'a', version: 1, sha256: d('1'), size: 100, unzippedSize: 1000 },
      ],
    });
  });

  it('refuses a layer from another namespace unless it is shared with this one or with "*"', () => {
    const denied = resolve([layer('libs', 'x', { shared: ['other'] })], [{ name: 'libs/x', version: 1 }]);
    assert.equal(denied.ok === false && denied.reasonCode, 'LayerAccessDenied');
    assert.equal(
      resolve([layer('libs', 'x', { shared: ['app'] })], [{ name: 'libs/x', version: 1 }]).ok,
      true,
    );
    assert.equal(resolve([layer('libs', 'x', { shared: ['*'] })], [{ name: 'libs/x', version: 1 }]).ok, true);
  });

  it('refuses a missing layer or version with LayerNotFound', () => {
    const missing = resolve([], [{ name: 'nope', version: 1 }]);
    assert.equal(missing.ok === false && missing.reasonCode, 'LayerNotFound');
    const noVersion = resolve([layer('app', 'a')], [{ name: 'a', version: 9 }]);
    assert.match(
      noVersion.ok === false ? noVersion.message : '',
      /app\/a:9 does not exist; the latest version is 2/,
    );
  });

  it('refuses a new reference to a deleted version but keeps one already pinned', () => {
    const layers = [layer('app', 'a', { deleted: [1] })];
    const fresh = resolve(layers, [{ name: 'a', version: 1 }]);
    assert.match(fresh.ok === false ? fresh.message : '', /was deleted and cannot be newly referenced/);
    const pinned: PinnedLayer = {
      namespace: 'app',
      name: 'a',
      version: 1,
      sha256: d('1'),
      size: 100,
      unzippedSize: 1000,
    };
    assert.deepEqual(resolve(layers, [{ name: 'a', version: 1 }], [pinned]), { ok: true, pins: [pinned] });
    assert.deepEqual(
      resolve([], [{ name: 'a', version: 1 }], [pinned]),
      { ok: true, pins: [pinned] },
      'even with the Layer gone',
    );
  });

  it('refuses a layer version whose compatible runtimes exclude the function’s', () => {
    const result = resolve([layer('app', 'py', { runtimes: ['python3.13'] })], [{ name: 'py', version: 1 }]);
    assert.equal(result.ok === false && result.reasonCode, 'InvalidParameterValueException');
    assert.equal(
      resolve([layer('app', 'js', { runtimes: ['nodejs20.x'] })], [{ name: 'js', version: 1 }]).ok,
      true,
    );
  });

  it('refuses two versions of the same layer', () => {
    const result = resolve(
      [layer('app', 'a')],
      [
        { name: 'a', version: 1 },
        { name: 'app/a', version: 2 },
      ],
    );
    assert.match(result.ok === false ? result.message : '', /Two different versions of the same layer/);
  });
});
