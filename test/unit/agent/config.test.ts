import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseFunctionConfig, parseFunctionConfigJson } from '../../../runtime-image/agent/src/config.js';
import { InvalidConfigError } from '../../../runtime-image/agent/src/errors.js';

const valid = {
  functionName: 'calc',
  namespace: 'default',
  version: '$LATEST',
  runtime: 'nodejs20.x',
  handler: 'index.handler',
  memorySize: 128,
  timeout: 3,
  code: { url: 'http://store/blobs/sha256/' + 'a'.repeat(64), sha256: 'a'.repeat(64) },
  functionArn: 'arn:aws:lambda:us-east-1:default:function:calc',
};

function refusal(input: unknown): string {
  try {
    parseFunctionConfig(input);
  } catch (err) {
    assert.ok(err instanceof InvalidConfigError);
    assert.equal(err.httpStatus, 400);
    assert.equal(err.errorType, 'InvalidParameterValueException');
    return err.message;
  }
  assert.fail('expected the configuration to be refused');
}

describe('function configuration', () => {
  test('fills in the documented defaults', () => {
    const config = parseFunctionConfig(valid);
    assert.deepEqual(config.environment, {});
    assert.deepEqual(config.layers, []);
    assert.equal(config.region, 'us-east-1');
    assert.equal(config.initializationType, 'on-demand');
    assert.equal(config.maxUnzippedBytes, 262_144_000);
  });

  test('accepts published versions, file:// code and up to five layers', () => {
    const layer = { url: 'file:///layers/a.zip', sha256: 'b'.repeat(64) };
    const config = parseFunctionConfig({
      ...valid,
      version: '12',
      layers: [layer, layer, layer, layer, layer],
    });
    assert.equal(config.layers.length, 5);
  });

  test('names every invalid field in one message', () => {
    const message = refusal({
      ...valid,
      runtime: 'java8',
      memorySize: 64,
      timeout: 901,
      version: 'latest',
      handler: 'a b',
    });
    for (const field of ['runtime', 'memorySize', 'timeout', 'version', 'handler'])
      assert.match(message, new RegExp(`${field}: `));
  });

  test('refuses bad digests, URLs and too many layers', () => {
    assert.match(
      refusal({ ...valid, code: { url: valid.code.url, sha256: 'ABC' } }),
      /code\.sha256: must be 64 lowercase hex/,
    );
    assert.match(
      refusal({ ...valid, code: { url: 'ftp://x/y', sha256: 'a'.repeat(64) } }),
      /code\.url: must be an http/,
    );
    assert.match(refusal({ ...valid, layers: Array(6).fill(valid.code) }), /layers: /);
  });

  test('refuses reserved environment variables, as Lambda does', () => {
    const message = refusal({ ...valid, environment: { TZ: 'x', _HANDLER: 'y', PATH: '/ok' } });
    assert.match(
      message,
      /Reserved keys used in this request: _HANDLER, TZ|Reserved keys used in this request: TZ, _HANDLER/,
    );
    assert.match(refusal({ ...valid, environment: { '1BAD': 'x' } }), /environment/);
  });

  test('lets unreserved variables such as PATH and LANG through', () => {
    assert.deepEqual(parseFunctionConfig({ ...valid, environment: { PATH: '/x', LANG: 'C' } }).environment, {
      PATH: '/x',
      LANG: 'C',
    });
  });

  test('reports text that is not JSON', () => {
    assert.throws(() => parseFunctionConfigJson('{nope'), /not JSON/);
  });
});
