// Small helpers shared by the two servers, and the one place AgentErrors become HTTP.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AGENT_ERROR_TYPES, AGENT_HEADERS } from '../../../operator/src/protocol/index.js';
import { AgentError } from './errors.js';
import { agentLog } from './logs.js';

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Typed errors go out as `{"errorType","errorMessage"}` with x-amzn-ErrorType; anything else is a 500. */
export function sendError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (err instanceof AgentError) {
    sendJson(res, err.httpStatus, err.toJSON(), { [AGENT_HEADERS.errorType]: err.errorType });
    return;
  }
  agentLog('error', 'unexpected error', { error: String((err as Error)?.stack ?? err) });
  sendJson(
    res,
    500,
    { errorType: AGENT_ERROR_TYPES.service, errorMessage: String((err as Error)?.message ?? err) },
    { [AGENT_HEADERS.errorType]: AGENT_ERROR_TYPES.service },
  );
}

/**
 * Reads a request body up to `limit` bytes. Past the limit the rest is drained and dropped
 * (so the connection stays usable) and the result is `undefined`.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let tooLarge = Number(req.headers['content-length'] ?? 0) > limit;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      length += chunk.length;
      if (length > limit) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () =>
      resolve(tooLarge ? undefined : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length)),
    );
    req.on('error', reject);
    req.on('aborted', () => reject(new Error('request aborted')));
  });
}
