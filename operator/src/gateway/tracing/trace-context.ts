// The Lambda trace header (`Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=…`) as an
// OpenTelemetry span context, and back: the 32-hex trace id is the Root's two hex parts
// joined (what the AWS X-Ray propagator does), so spans the function emits from
// `_X_AMZN_TRACE_ID` land in the gateway's trace. Pure.
import { isNewRoot } from '../../protocol/index.js';

const ROOT = /^1-([0-9a-f]{8})-([0-9a-f]{24})$/;
const SPAN_ID = /^[0-9a-f]{16}$/;

export interface TraceContext {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** The caller's span; absent for a root the gateway made. */
  parentSpanId?: string;
  /** The caller's decision; undefined when it left it to us (`Sampled=?`, or a new root). */
  sampled?: boolean;
}

function fields(header: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) map.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return map;
}

/** The header's span context, `undefined` when its Root is not an X-Ray trace id. */
export function traceContextOf(header: string): TraceContext | undefined {
  const f = fields(header);
  const root = ROOT.exec(f.get('Root')?.toLowerCase() ?? '');
  if (!root) return undefined;
  const traceId = `${root[1]}${root[2]}`;
  if (isNewRoot(header)) return { traceId };
  const parent = f.get('Parent')?.toLowerCase();
  const sampled = f.get('Sampled');
  return {
    traceId,
    ...(parent && SPAN_ID.test(parent) ? { parentSpanId: parent } : {}),
    ...(sampled === '1' ? { sampled: true } : sampled === '0' ? { sampled: false } : {}),
  };
}

/** The X-Ray Root of a 32-hex trace id. */
export function xrayRoot(traceId: string): string {
  return `1-${traceId.slice(0, 8)}-${traceId.slice(8)}`;
}

/**
 * Whether to record a trace: the caller's decision when it made one, else `ratio` of the
 * traces, chosen by the trace id's last 8 hex digits (random in an X-Ray id; the first 8 are
 * its time) so every replica decides the same for one trace.
 */
export function sampled(context: TraceContext, ratio: number): boolean {
  if (context.sampled !== undefined) return context.sampled;
  if (ratio >= 1) return true;
  if (ratio <= 0) return false;
  return parseInt(context.traceId.slice(-8), 16) < ratio * 0x1_0000_0000;
}

/**
 * The header the function gets: the same Root (and any other fields), Parent the span its own
 * spans join, Sampled the decision taken here.
 */
export function headerFor(header: string, parentSpanId: string, isSampled: boolean): string {
  const f = fields(header);
  const rest = [...f].filter(([key]) => !['Root', 'Parent', 'Sampled'].includes(key));
  return [
    `Root=${f.get('Root')?.toLowerCase()}`,
    `Parent=${parentSpanId}`,
    `Sampled=${isSampled ? '1' : '0'}`,
    ...rest.map(([key, value]) => `${key}=${value}`),
  ].join(';');
}
