import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  parseMetadata,
  PreludeReader,
} from '../../../../operator/src/gateway/events/http-integration-response.js';

const NUL8 = Buffer.alloc(8);

describe('http-integration-response prelude', () => {
  it('reads the metadata then passes the body through', () => {
    const reader = new PreludeReader();
    const first = reader.push(
      Buffer.concat([
        Buffer.from('{"statusCode":201,"headers":{"x-a":"b"},"cookies":["c=1"]}'),
        NUL8,
        Buffer.from('he'),
      ]),
    );
    assert.deepEqual(first.metadata, { statusCode: 201, headers: { 'x-a': 'b' }, cookies: ['c=1'] });
    assert.equal(first.body.toString(), 'he');
    const second = reader.push(Buffer.from('llo'));
    assert.equal(second.metadata, undefined);
    assert.equal(second.body.toString(), 'llo');
    assert.equal(reader.end(), undefined);
  });

  it('finds a prelude and delimiter split across chunks', () => {
    const reader = new PreludeReader();
    assert.equal(reader.push(Buffer.from('{"statusCode":')).metadata, undefined);
    assert.equal(reader.push(Buffer.concat([Buffer.from('404}'), NUL8.subarray(0, 3)])).metadata, undefined);
    const done = reader.push(Buffer.concat([NUL8.subarray(3), Buffer.from('body')]));
    assert.equal(done.metadata?.statusCode, 404);
    assert.equal(done.body.toString(), 'body');
  });

  it('keeps NUL bytes of the body after the prelude', () => {
    const reader = new PreludeReader();
    const out = reader.push(Buffer.concat([Buffer.from('{}'), NUL8, NUL8]));
    assert.equal(out.metadata?.statusCode, 200);
    assert.deepEqual(out.body, NUL8);
  });

  it('answers 502 for a stream that ends inside its prelude or has no JSON object', () => {
    const reader = new PreludeReader();
    reader.push(Buffer.from('{"statusCode":200'));
    assert.equal(reader.end()?.statusCode, 502);
    assert.equal(parseMetadata('not json').statusCode, 502);
    assert.equal(parseMetadata('[1]').statusCode, 502);
  });

  it('defaults the status to 200 and stringifies header values', () => {
    assert.deepEqual(parseMetadata('{"headers":{"n":1,"skip":null}}'), {
      statusCode: 200,
      headers: { n: '1' },
      cookies: [],
    });
  });
});
