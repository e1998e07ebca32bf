// Invokes functions through the gateway's Invoke API, as any client would: reserved
// concurrency, burst limits and the caller's RBAC (invoke on functions) apply to pollers
// exactly as to everyone else. A 429 becomes a `throttled` outcome the poller backs off on.
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'undici';
import type { InvokeOutcome } from './decisions.js';

export interface FunctionInvoker {
  /**
   * `RequestResponse` waits for the function's result; `Event` is accepted by the gateway's
   * async queue (202) and retried there with Lambda's async rules.
   */
  invoke(target: InvokeTarget, payload: Buffer, type?: 'RequestResponse' | 'Event'): Promise<InvokeOutcome>;
  close(): Promise<void>;
}

export interface InvokeTarget {
  namespace: string;
  name: string;
  qualifier?: string;
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export class GatewayInvoker implements FunctionInvoker {
  private readonly agent = new Agent({ keepAliveTimeout: 30_000, connections: 256 });

  constructor(
    private readonly gatewayUrl: string,
    /** The bearer token to send (a projected token rotates: read it each time). */
    private readonly token: () => Promise<string | undefined> = serviceAccountToken,
    /** Longest wait for one invoke (the functions' maximum timeout plus a margin). */
    private readonly timeoutMs = 960_000,
  ) {}

  async invoke(target: InvokeTarget, payload: Buffer, type: 'RequestResponse' | 'Event' = 'RequestResponse') {
    const name = `${target.namespace}:function:${target.name}${target.qualifier ? `:${target.qualifier}` : ''}`;
    const url = `${this.gatewayUrl.replace(/\/+$/, '')}/2015-03-31/functions/${encodeURIComponent(name)}/invocations`;
    const token = await this.token();
    try {
      const response = await request(url, {
        method: 'POST',
        body: payload,
        dispatcher: this.agent,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        headers: {
          'content-type': 'application/json',
          'x-amz-invocation-type': type,
          ...(token && { authorization: `Bearer ${token}` }),
        },
      });
      const body = Buffer.from(await response.body.arrayBuffer());
      const status = response.statusCode;
      const functionError = response.headers['x-amz-function-error'];
      if (status === 429) return { kind: 'throttled' as const, message: messageOf(body) };
      if (status >= 200 && status < 300) {
        if (typeof functionError === 'string' && functionError)
          return { kind: 'functionError' as const, payload: body, functionError, statusCode: status };
        return { kind: 'success' as const, payload: body };
      }
      return { kind: 'systemError' as const, statusCode: status, message: messageOf(body) };
    } catch (err) {
      return { kind: 'systemError' as const, statusCode: 0, message: (err as Error).message };
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

async function serviceAccountToken(): Promise<string | undefined> {
  try {
    return (await readFile(SERVICE_ACCOUNT_TOKEN, 'utf8')).trim() || undefined;
  } catch {
    return undefined; // outside a pod: the gateway must allow anonymous invokes
  }
}

function messageOf(body: Buffer): string {
  const text = body.toString('utf8');
  try {
    const parsed = JSON.parse(text) as { message?: unknown; Message?: unknown };
    return String(parsed.message ?? parsed.Message ?? text);
  } catch {
    return text;
  }
}
