// Lambda's filter pattern language, matched against records as filters see them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FilterPatternError,
  matchesAny,
  parsePattern,
  payloadView,
} from '../../../operator/src/event-sources/filter-pattern.js';

const match = (pattern: object, record: unknown) =>
  matchesAny([parsePattern(JSON.stringify(pattern))], record);
const sqs = (body: object | string, extra: object = {}) => ({
  body: payloadView(Buffer.from(typeof body === 'string' ? body : JSON.stringify(body))),
  attributes: { ApproximateReceiveCount: '1' },
  ...extra,
});

describe('filter patterns', () => {
  it('matches equal values at nested keys and drops the rest', () => {
    const p = { body: { type: ['order'], total: [10, 20] } };
    assert.equal(match(p, sqs({ type: 'order', total: 20 })), true);
    assert.equal(match(p, sqs({ type: 'order', total: 21 })), false);
    assert.equal(match(p, sqs({ type: 'refund', total: 10 })), false);
  });

  it('matches prefix, suffix, equals-ignore-case and anything-but', () => {
    assert.equal(match({ body: { id: [{ prefix: 'ord-' }] } }, sqs({ id: 'ord-1' })), true);
    assert.equal(match({ body: { id: [{ suffix: '.png' }] } }, sqs({ id: 'a.jpg' })), false);
    assert.equal(match({ body: { c: [{ 'equals-ignore-case': 'EU' }] } }, sqs({ c: 'eu' })), true);
    assert.equal(match({ body: { s: [{ 'anything-but': ['done', 'failed'] }] } }, sqs({ s: 'new' })), true);
    assert.equal(match({ body: { s: [{ 'anything-but': 'done' }] } }, sqs({ s: 'done' })), false);
    assert.equal(match({ body: { s: [{ 'anything-but': { prefix: 'x' } }] } }, sqs({ s: 'xy' })), false);
  });

  it('compares numbers in ranges', () => {
    const p = { body: { n: [{ numeric: ['>', 0, '<=', 5] }] } };
    assert.equal(match(p, sqs({ n: 5 })), true);
    assert.equal(match(p, sqs({ n: 0 })), false);
    assert.equal(match(p, sqs({ n: '3' })), false);
  });

  it('tests existence, including of keys that are absent', () => {
    assert.equal(match({ body: { tag: [{ exists: true }] } }, sqs({ tag: null })), true);
    assert.equal(match({ body: { tag: [{ exists: false }] } }, sqs({})), true);
    assert.equal(match({ body: { tag: [{ exists: false }] } }, sqs({ tag: 1 })), false);
    assert.equal(match({ body: { tag: ['x'] } }, sqs({})), false);
  });

  it('matches an array value when any element matches, and $or across keys', () => {
    assert.equal(match({ body: { tags: ['b'] } }, sqs({ tags: ['a', 'b'] })), true);
    const p = { body: { $or: [{ a: [1] }, { b: [2] }] } };
    assert.equal(match(p, sqs({ b: 2 })), true);
    assert.equal(match(p, sqs({ a: 2, b: 1 })), false);
  });

  it('sees a body that is not JSON as a string', () => {
    assert.equal(match({ body: [{ prefix: 'hello' }] }, sqs('hello world')), true);
    assert.equal(match({ body: { a: [1] } }, sqs('hello world')), false);
  });

  it('delivers every record when there are no patterns, and a record when any pattern matches', () => {
    assert.equal(matchesAny([], sqs({})), true);
    const patterns = [parsePattern('{"body":{"a":[1]}}'), parsePattern('{"body":{"a":[2]}}')];
    assert.equal(matchesAny(patterns, sqs({ a: 2 })), true);
    assert.equal(matchesAny(patterns, sqs({ a: 3 })), false);
  });

  it('refuses patterns that are not patterns', () => {
    for (const bad of [
      '[1]',
      'not json',
      '{"a":1}',
      '{"a":[{"regex":"x"}]}',
      '{"a":[{"numeric":[">"]}]}',
      '{"$or":[{"a":[1]}]}',
    ])
      assert.throws(() => parsePattern(bad), FilterPatternError, bad);
  });
});
