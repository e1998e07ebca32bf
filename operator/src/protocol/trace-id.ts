// The X-Ray trace header Lambda hands every invocation (`_X_AMZN_TRACE_ID`, the Runtime API's
// Lambda-Runtime-Trace-Id): the caller's X-Amzn-Trace-Id, else its W3C traceparent in X-Ray
// form, else a new root. Pure: the time and the random bytes are the caller's.

/** `Root=1-<8 hex epoch seconds>-<24 hex>` [X-Ray trace id format]. */
const ROOT = /^1-[0-9a-f]{8}-[0-9a-f]{24}$/;
const PARENT = /^[0-9a-f]{16}$/;
/** `version-traceid-parentid-flags`; version ff is invalid, all-zero ids are invalid. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** `bytes` random bytes as lowercase hex. */
export type RandomHex = (bytes: number) => string;

type Headers = Record<string, string | string[] | undefined>;

const first = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value[0] : value;

/**
 * X-Amzn-Trace-Id as Lambda forwards it: kept when its Root is well formed (a missing Parent
 * or Sampled is filled in), `undefined` otherwise.
 */
export function fromAmznTraceId(value: string, randomHex: RandomHex): string | undefined {
  const fields = new Map<string, string>();
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const root = fields.get('Root')?.toLowerCase();
  if (!root || !ROOT.test(root)) return undefined;
  const parent = fields.get('Parent')?.toLowerCase();
  const sampled = fields.get('Sampled');
  const rest = [...fields].filter(([key]) => !['Root', 'Parent', 'Sampled'].includes(key));
  return [
    `Root=${root}`,
    `Parent=${parent && PARENT.test(parent) ? parent : randomHex(8)}`,
    `Sampled=${sampled === '1' ? '1' : sampled === '?' ? '?' : '0'}`,
    ...rest.map(([key, v]) => `${key}=${v}`),
  ].join(';');
}

/** A W3C traceparent in X-Ray form (the trace id split 8 + 24), `undefined` when invalid. */
export function fromTraceparent(value: string): string | undefined {
  const match = TRACEPARENT.exec(value.trim().toLowerCase());
  if (!match) return undefined;
  const [, version, traceId, parentId, flags, tail] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string?,
  ];
  // Version 00 has exactly four fields; later versions may append more.
  if (version === 'ff' || (version === '00' && tail !== undefined)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(parentId)) return undefined;
  const sampled = (parseInt(flags, 16) & 1) === 1 ? '1' : '0';
  return `Root=1-${traceId.slice(0, 8)}-${traceId.slice(8)};Parent=${parentId};Sampled=${sampled}`;
}

/**
 * A new root, as Lambda makes one for a caller that sent none (not sampled). Its Parent is
 * the first 16 hex digits of the Root's random part: no caller's span, and recognisably so
 * (isNewRoot) wherever the header travels — through the async queue too — so a tracer starts
 * a root span instead of pointing at a parent that does not exist.
 */
export function newTraceId(nowMs: number, randomHex: RandomHex): string {
  const seconds = Math.floor(nowMs / 1000)
    .toString(16)
    .padStart(8, '0')
    .slice(-8);
  const random = randomHex(12);
  return `Root=1-${seconds}-${random};Parent=${random.slice(0, 16)};Sampled=0`;
}

/** Whether a trace header is a root newTraceId made (its Parent names no span). */
export function isNewRoot(traceId: string): boolean {
  const root = /(?:^|;)\s*Root=1-[0-9a-f]{8}-([0-9a-f]{16})/i.exec(traceId)?.[1];
  const parent = /(?:^|;)\s*Parent=([0-9a-f]{16})/i.exec(traceId)?.[1];
  return root !== undefined && root.toLowerCase() === parent?.toLowerCase();
}

/** The caller's trace, from X-Amzn-Trace-Id or else traceparent (lower-case header names). */
export function callerTraceId(headers: Headers, randomHex: RandomHex): string | undefined {
  const amzn = first(headers['x-amzn-trace-id']);
  const fromAmzn = amzn ? fromAmznTraceId(amzn, randomHex) : undefined;
  if (fromAmzn) return fromAmzn;
  const traceparent = first(headers['traceparent']);
  return traceparent ? fromTraceparent(traceparent) : undefined;
}

/** The invocation's trace header: the caller's, or a new root when it sent none. */
export function traceIdFromHeaders(headers: Headers, nowMs: number, randomHex: RandomHex): string {
  return callerTraceId(headers, randomHex) ?? newTraceId(nowMs, randomHex);
}
