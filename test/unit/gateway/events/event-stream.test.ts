import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventStreamCodec } from '@smithy/core/event-streams';
import { fromUtf8, toUtf8 } from '@smithy/core/serde';
import {
  encodeMessage,
  invokeComplete,
  payloadChunk,
} from '../../../../operator/src/gateway/events/event-stream.js';

const codec = new EventStreamCodec(toUtf8, fromUtf8);

const stringHeaders = (headers: Record<string, { type: string; value: unknown }>) =>
  Object.fromEntries(Object.entries(headers).map(([name, h]) => [name, h.value]));

describe('event-stream framing', () => {
  it("decodes with the AWS SDK's codec (prelude and message CRCs, string headers)", () => {
    const decoded = codec.decode(encodeMessage({ a: 'b', ':event-type': 'X' }, Buffer.from('payload')));
    assert.deepEqual(stringHeaders(decoded.headers), { a: 'b', ':event-type': 'X' });
    assert.equal(Buffer.from(decoded.body).toString(), 'payload');
  });

  it('frames a PayloadChunk with binary bytes intact', () => {
    const bytes = Buffer.from([0, 1, 2, 255, 0, 0, 0, 0, 0, 0, 0, 0, 10]);
    const decoded = codec.decode(payloadChunk(bytes));
    assert.equal(stringHeaders(decoded.headers)[':event-type'], 'PayloadChunk');
    assert.equal(stringHeaders(decoded.headers)[':message-type'], 'event');
    assert.deepEqual(Buffer.from(decoded.body), bytes);
  });

  it('frames InvokeComplete as JSON with the error fields', () => {
    const decoded = codec.decode(
      invokeComplete({ ErrorCode: 'Unhandled', ErrorDetails: '{"x":1}', LogResult: 'bG9n' }),
    );
    assert.equal(stringHeaders(decoded.headers)[':event-type'], 'InvokeComplete');
    assert.deepEqual(JSON.parse(Buffer.from(decoded.body).toString()), {
      ErrorCode: 'Unhandled',
      ErrorDetails: '{"x":1}',
      LogResult: 'bG9n',
    });
  });

  it('frames an empty payload', () => {
    assert.equal(codec.decode(payloadChunk(Buffer.alloc(0))).body.length, 0);
  });

  it('is rejected by the codec when a byte is corrupted (the CRCs are real)', () => {
    const message = payloadChunk(Buffer.from('abc'));
    const at = message.length - 6;
    message.writeUInt8(message.readUInt8(at) ^ 0xff, at);
    assert.throws(() => codec.decode(message), /checksum/i);
  });
});
