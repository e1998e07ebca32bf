import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  fromAmznTraceId,
  fromTraceparent,
  isNewRoot,
  newTraceId,
  traceIdFromHeaders,
} from '../../../operator/src/protocol/index.js';

// Deterministic "random" bytes: 'ab' repeated.
const hex = (bytes: number) => 'ab'.repeat(bytes);
const NOW = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
const NOW_HEX = Math.floor(NOW / 1000).toString(16);

describe('trace ids', () => {
  it('makes a new unsampled root from the time and random bytes', () => {
    assert.equal(
      newTraceId(NOW, hex),
      `Root=1-${NOW_HEX}-${'ab'.repeat(12)};Parent=${'ab'.repeat(8)};Sampled=0`,
    );
    assert.match(newTraceId(NOW, hex), /^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$/);
  });

  it("recognises a new root by its Parent (the Root's random part), and no caller's header as one", () => {
    const random = (bytes: number) => '0123456789abcdef01234567'.slice(0, bytes * 2);
    const root = newTraceId(NOW, random);
    assert.equal(root, `Root=1-${NOW_HEX}-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=0`);
    assert.equal(isNewRoot(root), true);
    assert.equal(
      isNewRoot('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1'),
      false,
    );
    assert.equal(isNewRoot('Root=1-5759e988-bd862e3fe1be46a994272793'), false);
  });

  it('keeps a well-formed X-Amzn-Trace-Id and fills in a missing Parent and Sampled', () => {
    const full = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
    assert.equal(fromAmznTraceId(full, hex), full);
    assert.equal(
      fromAmznTraceId('Root=1-5759e988-bd862e3fe1be46a994272793', hex),
      `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=${'ab'.repeat(8)};Sampled=0`,
    );
    assert.equal(
      fromAmznTraceId('Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=?;Lineage=a:1', hex),
      `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=${'ab'.repeat(8)};Sampled=?;Lineage=a:1`,
    );
  });

  it('rejects an X-Amzn-Trace-Id without a well-formed Root', () => {
    assert.equal(fromAmznTraceId('Parent=53995c3f42cd8ad8', hex), undefined);
    assert.equal(fromAmznTraceId('Root=2-5759e988-bd862e3fe1be46a994272793', hex), undefined);
    assert.equal(fromAmznTraceId('Root=1-5759e988-short', hex), undefined);
    assert.equal(fromAmznTraceId('garbage', hex), undefined);
  });

  it('converts a W3C traceparent: trace id split 8 + 24, parent id, sampled flag', () => {
    assert.equal(
      fromTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'),
      'Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=1',
    );
    assert.equal(
      fromTraceparent('00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-00'),
      'Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=0',
    );
  });

  it('rejects invalid traceparents (version ff, zero ids, extra fields on version 00, bad shape)', () => {
    assert.equal(fromTraceparent('ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'), undefined);
    assert.equal(fromTraceparent('00-00000000000000000000000000000000-00f067aa0ba902b7-01'), undefined);
    assert.equal(fromTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'), undefined);
    assert.equal(fromTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x'), undefined);
    assert.equal(fromTraceparent('00-4bf92f35-00f067aa0ba902b7-01'), undefined);
    // A later version may carry more fields.
    assert.equal(
      fromTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra'),
      'Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=1',
    );
  });

  it('prefers X-Amzn-Trace-Id, then traceparent, then a new root', () => {
    const amzn = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
    const w3c = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    assert.equal(traceIdFromHeaders({ 'x-amzn-trace-id': amzn, traceparent: w3c }, NOW, hex), amzn);
    assert.equal(
      traceIdFromHeaders({ 'x-amzn-trace-id': 'nonsense', traceparent: w3c }, NOW, hex),
      'Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=1',
    );
    assert.equal(traceIdFromHeaders({}, NOW, hex), newTraceId(NOW, hex));
    assert.equal(traceIdFromHeaders({ traceparent: 'bad' }, NOW, hex), newTraceId(NOW, hex));
  });
});
