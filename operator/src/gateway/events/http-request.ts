// The parts of an HTTP request that function URL events are built from, independent of the
// HTTP server, and the helpers both payload formats share.
export interface HttpRequest {
  method: string;
  /** Path as received, percent-encoding intact, starting with "/". */
  rawPath: string;
  /** Query string without "?". */
  rawQueryString: string;
  /** Header pairs in arrival order (names in any case; repeated names allowed). */
  headers: Array<[string, string]>;
  body: Buffer;
  sourceIp: string;
  protocol: string;
}

export interface EventContext {
  requestId: string;
  /** Lambda's account id: the namespace. */
  accountId: string;
  /** Lambda's url id / API id: the function name. */
  apiId: string;
  domainName: string;
  /** Milliseconds since the epoch when the request arrived. */
  timeEpoch: number;
}

/** Lower-cased names, repeated values joined with "," (Lambda's rule for 2.0). */
export function joinedHeaders(pairs: Array<[string, string]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of pairs) {
    const key = name.toLowerCase();
    out[key] = out[key] === undefined ? value : `${out[key]},${value}`;
  }
  return out;
}

/** Decoded query parameters in order, repeated names kept. */
export function queryPairs(rawQueryString: string): Array<[string, string]> {
  if (!rawQueryString) return [];
  return [...new URLSearchParams(rawQueryString)];
}

const TEXT_TYPES =
  /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded|graphql)|[^;]*\+(json|xml))/i;

/** The event's body and isBase64Encoded: text stays text, anything else is base64. */
export function encodeBody(
  body: Buffer,
  contentType: string | undefined,
): { body?: string; isBase64Encoded: boolean } {
  if (body.length === 0) return { isBase64Encoded: false };
  const textual = contentType ? TEXT_TYPES.test(contentType.trim()) : isUtf8(body);
  return textual
    ? { body: body.toString('utf8'), isBase64Encoded: false }
    : { body: body.toString('base64'), isBase64Encoded: true };
}

function isUtf8(buffer: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buffer);
    return true;
  } catch {
    return false;
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "12/Mar/2020:19:03:58 +0000", the CLF time API Gateway and function URLs use. */
export function clfTime(epochMs: number): string {
  const d = new Date(epochMs);
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`
  );
}

/** A mapped HTTP response, ready to send. */
export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  cookies: string[];
  body: Buffer;
}
