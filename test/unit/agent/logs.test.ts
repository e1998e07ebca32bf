import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  FunctionLog,
  reportLine,
  startLine,
  TailBuffer,
  timeoutLine,
} from '../../../runtime-image/agent/src/logs.js';

describe('function log lines', () => {
  test('REPORT is tab-separated with a trailing tab; Init Duration only when given', () => {
    const base = {
      requestId: 'r1',
      durationMs: 26.734,
      memorySizeMb: 128,
      maxMemoryUsedBytes: 75 * 1024 * 1024,
    };
    assert.equal(
      reportLine(base),
      'REPORT RequestId: r1\tDuration: 26.73 ms\tBilled Duration: 27 ms\tMemory Size: 128 MB\tMax Memory Used: 75 MB\t',
    );
    assert.equal(
      reportLine({ ...base, initDurationMs: 110.1 }),
      'REPORT RequestId: r1\tDuration: 26.73 ms\tBilled Duration: 27 ms\tMemory Size: 128 MB\tMax Memory Used: 75 MB\tInit Duration: 110.10 ms\t',
    );
    assert.match(
      reportLine({ ...base, status: 'error', errorType: 'Runtime.OutOfMemory' }),
      /\tStatus: error\tError Type: Runtime.OutOfMemory\t$/,
    );
  });

  test('billed duration rounds up to the next millisecond', () => {
    assert.match(
      reportLine({ requestId: 'r', durationMs: 3.0001, memorySizeMb: 128, maxMemoryUsedBytes: 0 }),
      /Billed Duration: 4 ms/,
    );
    assert.match(
      reportLine({ requestId: 'r', durationMs: 0.2, memorySizeMb: 128, maxMemoryUsedBytes: 0 }),
      /Billed Duration: 1 ms/,
    );
  });

  test('START and the timeout line', () => {
    assert.equal(startLine('r', '$LATEST'), 'START RequestId: r Version: $LATEST');
    assert.equal(
      timeoutLine(new Date('2026-01-01T00:00:03Z'), 'r', 3),
      '2026-01-01T00:00:03.000Z r Task timed out after 3.00 seconds',
    );
  });
});

describe('log capture', () => {
  test('TailBuffer keeps exactly the last 4096 bytes', () => {
    const tail = new TailBuffer();
    for (let i = 0; i < 100; i++) tail.append(Buffer.from(`${String(i).padStart(3, '0')}${'x'.repeat(97)}`));
    const bytes = tail.bytes();
    assert.equal(bytes.length, 4096);
    assert.ok(bytes.toString().endsWith(`099${'x'.repeat(97)}`));
  });

  test('platform lines start on a new line even after unterminated output', () => {
    const written: string[] = [];
    const log = new FunctionLog({
      write: (chunk) => written.push(chunk.toString()) > 0,
      once: () => undefined,
    });
    log.beginCapture();
    log.runtimeOutput(Buffer.from('no newline'));
    log.platformLine('END RequestId: r');
    assert.equal(log.endCapture().toString(), 'no newline\nEND RequestId: r\n');
    assert.equal(written.join(''), 'no newline\nEND RequestId: r\n');
    log.runtimeOutput(Buffer.from('outside any invocation\n'));
    log.beginCapture();
    assert.equal(log.endCapture().length, 0, 'output between invocations is not captured');
  });
});
