// A streaming function URL's response in `application/vnd.awslambda.http-integration-response`
// (what awslambda.HttpResponseStream.from writes): JSON metadata (statusCode, headers,
// cookies), 8 NUL bytes, then the body. The reader finds the metadata as chunks arrive.

export const HTTP_INTEGRATION_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';

const DELIMITER = Buffer.alloc(8);
/** A prelude that has not ended by then is not one. */
const MAX_PRELUDE_BYTES = 1024 * 1024;

export interface StreamingHttpMetadata {
  statusCode: number;
  headers: Record<string, string>;
  cookies: string[];
}

/** The metadata as the function gave it, or 502 when it is not the documented JSON. */
export function parseMetadata(text: string): StreamingHttpMetadata {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { statusCode: 502, headers: {}, cookies: [] };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return { statusCode: 502, headers: {}, cookies: [] };
  const { statusCode, headers, cookies } = value as Record<string, unknown>;
  const status =
    Number.isInteger(statusCode) && (statusCode as number) >= 100 && (statusCode as number) <= 599
      ? (statusCode as number)
      : 200;
  const headerMap: Record<string, string> = {};
  if (headers && typeof headers === 'object' && !Array.isArray(headers)) {
    for (const [name, v] of Object.entries(headers))
      if (v !== undefined && v !== null) headerMap[name] = String(v);
  }
  const cookieList = Array.isArray(cookies) ? cookies.map(String) : [];
  return { statusCode: status, headers: headerMap, cookies: cookieList };
}

/** Splits the metadata prelude off the front of a streamed response. */
export class PreludeReader {
  private pending: Buffer = Buffer.alloc(0);
  private found = false;

  /** Feeds a chunk: the metadata once complete (once), and the body bytes that follow it. */
  push(chunk: Buffer): { metadata?: StreamingHttpMetadata; body: Buffer } {
    if (this.found) return { body: chunk };
    this.pending = Buffer.concat([this.pending, chunk]);
    const at = this.pending.indexOf(DELIMITER);
    if (at >= 0) {
      this.found = true;
      const metadata = parseMetadata(this.pending.subarray(0, at).toString('utf8'));
      const body = this.pending.subarray(at + DELIMITER.length);
      this.pending = Buffer.alloc(0);
      return { metadata, body };
    }
    if (this.pending.length > MAX_PRELUDE_BYTES) {
      this.found = true;
      return { metadata: { statusCode: 502, headers: {}, cookies: [] }, body: Buffer.alloc(0) };
    }
    return { body: Buffer.alloc(0) };
  }

  /** The stream ended: metadata never completed means a malformed response (502). */
  end(): StreamingHttpMetadata | undefined {
    if (this.found) return undefined;
    this.found = true;
    return { statusCode: 502, headers: {}, cookies: [] };
  }
}
