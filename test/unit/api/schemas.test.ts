import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { z } from 'zod';
import {
  AliasSpec,
  EventSourceMappingSpec,
  FunctionSpec,
  LayerSpec,
  VersionSpec,
  environmentSize,
  limits,
} from '../../../operator/src/api/index.js';
import { laminaManifests } from '../../harness/manifests.js';

const specSchemas: Record<string, z.ZodType> = {
  Function: FunctionSpec,
  Layer: LayerSpec,
  Version: VersionSpec,
  Alias: AliasSpec,
  EventSourceMapping: EventSourceMappingSpec,
};

describe('API schemas', () => {
  for (const manifest of laminaManifests('examples')) {
    it(`accepts the example ${manifest.file} (${manifest.object.kind} ${manifest.object.metadata.name})`, () => {
      const result = specSchemas[manifest.object.kind]!.safeParse(manifest.object.spec);
      assert.ok(result.success, result.error?.message);
    });
  }

  for (const manifest of laminaManifests('test/fixtures/manifests/invalid')) {
    it(`rejects ${manifest.file}`, () => {
      const result = specSchemas[manifest.object.kind]!.safeParse(manifest.object.spec);
      // The CEL-only transition rules cannot be checked without an old object; every
      // fixture here breaks a rule that holds for a single object.
      assert.equal(result.success, false, `${manifest.file} should be invalid`);
    });
  }

  it('fills Lambda defaults for memory, timeout and publish', () => {
    const spec = FunctionSpec.parse({
      runtime: 'python3.13',
      handler: 'a.handler',
      code: { inline: { 'a.py': '' } },
    });
    assert.equal(spec.memorySize, limits.memorySize.default);
    assert.equal(spec.timeout, limits.timeout.default);
    assert.equal(spec.publish, false);
  });

  it('takes Java handlers as Class::method or Class, and only for the Java runtimes', () => {
    const code = { sha256: 'a'.repeat(64) };
    for (const handler of ['example.Hello::handleRequest', 'example.Stream', 'Hello::handle'])
      assert.ok(FunctionSpec.safeParse({ runtime: 'java21', handler, code }).success, handler);
    assert.equal(FunctionSpec.safeParse({ runtime: 'java17', handler: 'a b', code }).success, false);
    assert.equal(
      FunctionSpec.safeParse({ runtime: 'java21', handler: 'index.js::x-y', code }).success,
      false,
    );
    assert.equal(
      FunctionSpec.safeParse({ runtime: 'python3.11', handler: 'Hello::handle', code }).success,
      false,
    );
    assert.equal(
      FunctionSpec.safeParse({ runtime: 'nodejs22.x', handler: 'index.handler', code }).success,
      false,
    );
  });

  it('lets provided runtimes omit the handler', () => {
    assert.ok(FunctionSpec.safeParse({ runtime: 'provided', code: { sha256: 'a'.repeat(64) } }).success);
  });

  it('accepts a zip URL with or without a digest, and a stored digest alone', () => {
    for (const code of [
      { zipUrl: 'https://example.invalid/a.zip' },
      { zipUrl: 'https://example.invalid/a.zip', sha256: 'b'.repeat(64) },
      { sha256: 'c'.repeat(64) },
    ]) {
      assert.ok(FunctionSpec.safeParse({ runtime: 'provided', code }).success, JSON.stringify(code));
    }
  });

  it('measures the environment the way Lambda does: the JSON string of the map', () => {
    assert.equal(environmentSize({ A: 'b' }), '{"A":"b"}'.length);
    assert.equal(environmentSize(undefined), 0);
  });
});
