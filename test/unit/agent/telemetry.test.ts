import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validExtensionErrorType } from '../../../runtime-image/agent/src/extensions-api.js';
import {
  asLogsApiEvents,
  LineSplitter,
  parseSubscription,
  platformRecords,
  SubscriptionError,
  TelemetryBuffer,
} from '../../../runtime-image/agent/src/telemetry.js';

const body = (fields: Record<string, unknown>) =>
  JSON.stringify({
    schemaVersion: '2022-12-13',
    destination: { protocol: 'HTTP', URI: 'http://sandbox.localdomain:4243/lambda' },
    types: ['platform', 'function'],
    ...fields,
  });

describe('Telemetry API subscription', () => {
  test("takes Lambda's buffering defaults and sends to the sandbox's loopback", () => {
    const sub = parseSubscription('telemetry', body({}));
    assert.deepEqual(sub.buffering, { maxItems: 1000, maxBytes: 262144, timeoutMs: 1000 });
    assert.equal(sub.url, 'http://127.0.0.1:4243/lambda');
    assert.deepEqual(sub.types, ['platform', 'function']);
  });

  test('refuses buffering outside the bounds, naming the field', () => {
    for (const buffering of [
      { maxItems: 999 },
      { maxBytes: 2_000_000 },
      { timeoutMs: 10 },
      { timeoutMs: 30_001 },
    ]) {
      assert.throws(
        () => parseSubscription('telemetry', body({ buffering })),
        (err: unknown) =>
          err instanceof SubscriptionError &&
          err.errorType === 'ValidationError' &&
          err.message.includes(`buffering.${Object.keys(buffering)[0]}`),
      );
    }
  });

  test('refuses an unknown schema version, an unknown type, a destination outside the sandbox, bad JSON', () => {
    const bad = [
      body({ schemaVersion: '2020-01-01' }),
      body({ types: ['platform', 'metrics'] }),
      body({ types: [] }),
      body({ destination: { protocol: 'HTTP', URI: 'http://example.com:80' } }),
      body({ destination: { protocol: 'HTTP', URI: 'http://sandbox.localdomain' } }),
      body({ destination: { protocol: 'TCP', port: 4243 } }),
      '{',
    ];
    for (const text of bad)
      assert.throws(() => parseSubscription('telemetry', text), SubscriptionError, text);
  });

  test('the Logs API has no required schema version and buffers up to 10000 items by default', () => {
    const sub = parseSubscription(
      'logs',
      JSON.stringify({ destination: { protocol: 'HTTP', URI: 'http://sandbox:9999' }, types: ['function'] }),
    );
    assert.equal(sub.buffering.maxItems, 10_000);
    assert.equal(sub.url, 'http://127.0.0.1:9999/');
  });
});

describe('Telemetry records', () => {
  test('platform.report carries the billed duration rounded up and the init duration when there was one', () => {
    const record = platformRecords.report({
      requestId: 'r1',
      status: 'success',
      durationMs: 12.3456,
      memorySizeMB: 128,
      maxMemoryUsedMB: 60,
      initDurationMs: 100.5,
      traceId: 'Root=1-abc',
    });
    assert.deepEqual(record, {
      requestId: 'r1',
      status: 'success',
      metrics: {
        durationMs: 12.346,
        billedDurationMs: 13,
        memorySizeMB: 128,
        maxMemoryUsedMB: 60,
        initDurationMs: 100.5,
      },
      tracing: { type: 'X-Amzn-Trace-Id', value: 'Root=1-abc' },
    });
  });

  test('a Logs API subscriber gets platform.end after runtimeDone and no init events', () => {
    const time = '2026-01-01T00:00:00.000Z';
    const done = platformRecords.runtimeDone({
      requestId: 'r1',
      status: 'error',
      errorType: 'E',
      durationMs: 1,
    });
    assert.deepEqual(
      asLogsApiEvents({ time, type: 'platform.runtimeDone', record: done }).map((e) => [e.type, e.record]),
      [
        ['platform.runtimeDone', { requestId: 'r1', status: 'error' }],
        ['platform.end', { requestId: 'r1' }],
      ],
    );
    assert.deepEqual(asLogsApiEvents({ time, type: 'platform.initStart', record: {} }), []);
    assert.deepEqual(asLogsApiEvents({ time, type: 'function', record: 'line' }), [
      { time, type: 'function', record: 'line' },
    ]);
  });
});

describe('TelemetryBuffer', () => {
  const event = (record: string) => ({ time: 't', type: 'function', record });

  test('is due at maxItems', () => {
    const buffer = new TelemetryBuffer({ maxItems: 2, maxBytes: 1_000_000, timeoutMs: 1000 });
    assert.equal(buffer.push(event('a')), false);
    assert.equal(buffer.push(event('b')), true);
    assert.deepEqual(
      buffer.take().map((e) => e.record),
      ['a', 'b'],
    );
    assert.equal(buffer.size, 0);
  });

  test('is due at maxBytes', () => {
    const buffer = new TelemetryBuffer({ maxItems: 1000, maxBytes: 100, timeoutMs: 1000 });
    assert.equal(buffer.push(event('x'.repeat(120))), true);
  });
});

describe('LineSplitter', () => {
  test('splits on newlines across chunks, drops \\r, keeps a partial line until its end', () => {
    const lines: string[] = [];
    const split = new LineSplitter((l) => lines.push(l));
    split.push(Buffer.from('one\r\ntw'));
    split.push(Buffer.from('o\nthr'));
    assert.deepEqual(lines, ['one', 'two']);
    split.flush();
    assert.deepEqual(lines, ['one', 'two', 'thr']);
  });

  test('cuts a line longer than the limit', () => {
    const lines: string[] = [];
    const split = new LineSplitter((l) => lines.push(l), 4);
    split.push(Buffer.from('abcdefgh'));
    assert.deepEqual(lines, ['abcdefgh']);
  });
});

test("an extension's error type is kept when it is Extension.<Reason>, else Lambda's default", () => {
  assert.equal(
    validExtensionErrorType('Extension.ConfigInvalid', 'Extension.InitError'),
    'Extension.ConfigInvalid',
  );
  assert.equal(validExtensionErrorType('Oops', 'Extension.InitError'), 'Extension.InitError');
  assert.equal(validExtensionErrorType('Extension.', 'Extension.ExitError'), 'Extension.ExitError');
});
