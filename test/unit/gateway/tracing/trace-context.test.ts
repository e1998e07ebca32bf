import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newTraceId } from '../../../../operator/src/protocol/index.js';
import {
  headerFor,
  sampled,
  traceContextOf,
  xrayRoot,
} from '../../../../operator/src/gateway/tracing/trace-context.js';

const ROOT = '1-5759e988-bd862e3fe1be46a994272793';
const TRACE_ID = '5759e988bd862e3fe1be46a994272793';

describe('Lambda trace header as an OpenTelemetry span context', () => {
  it("joins the Root's two hex parts into the 32-hex trace id and takes Parent as the caller's span", () => {
    assert.deepEqual(traceContextOf(`Root=${ROOT};Parent=53995c3f42cd8ad8;Sampled=1`), {
      traceId: TRACE_ID,
      parentSpanId: '53995c3f42cd8ad8',
      sampled: true,
    });
    assert.equal(xrayRoot(TRACE_ID), ROOT);
  });

  it("keeps the caller's decision: Sampled=0 is not sampled, Sampled=? is left to the ratio", () => {
    assert.equal(traceContextOf(`Root=${ROOT};Parent=53995c3f42cd8ad8;Sampled=0`)?.sampled, false);
    assert.equal(traceContextOf(`Root=${ROOT};Parent=53995c3f42cd8ad8;Sampled=?`)?.sampled, undefined);
  });

  it('gives a root the gateway made no parent and no decision', () => {
    const header = newTraceId(Date.UTC(2026, 0, 1), (n) => 'c7'.repeat(n));
    const context = traceContextOf(header);
    assert.equal(context?.traceId.length, 32);
    assert.equal(context?.parentSpanId, undefined);
    assert.equal(context?.sampled, undefined);
    assert.equal(header.includes(`Root=${xrayRoot(context?.traceId ?? '')}`), true);
  });

  it('has no context for a header without an X-Ray Root', () => {
    assert.equal(traceContextOf('Parent=53995c3f42cd8ad8;Sampled=1'), undefined);
    assert.equal(traceContextOf('Root=2-5759e988-bd862e3fe1be46a994272793'), undefined);
  });

  it('samples by ratio on the random part of the trace id, the same way for the same trace', () => {
    const low = { traceId: '5759e988bd862e3fe1be46a900000001' };
    const high = { traceId: '5759e988bd862e3fe1be46a9fffffff0' };
    assert.equal(sampled(low, 0.5), true);
    assert.equal(sampled(high, 0.5), false);
    assert.equal(sampled(high, 1), true);
    assert.equal(sampled(low, 0), false);
    assert.equal(sampled({ ...high, sampled: true }, 0), true);
    assert.equal(sampled({ ...low, sampled: false }, 1), false);
  });

  it("hands the function its parent span and the decision, keeping the header's other fields", () => {
    assert.equal(
      headerFor(
        `Root=${ROOT};Parent=53995c3f42cd8ad8;Sampled=?;Lineage=a87bd80c:1`,
        '0123456789abcdef',
        true,
      ),
      `Root=${ROOT};Parent=0123456789abcdef;Sampled=1;Lineage=a87bd80c:1`,
    );
  });
});
