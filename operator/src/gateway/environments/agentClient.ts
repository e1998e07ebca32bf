// The gateway side of the gateway ↔ agent protocol: one invoke over a keep-alive connection
// pool (undici keeps a pool per environment address).
import { Agent, request } from 'undici';

export interface AgentInvokeRequest {
  requestId: string;
  payload: Buffer;
  invokedFunctionArn: string;
  /** Ask for the last 4 KB of logs (X-Amz-Log-Type: Tail). */
  tail: boolean;
  /** Base64 client context, passed through unchanged. */
  clientContext?: string;
  traceId?: string;
  /** Upper bound for the whole exchange: the function timeout plus slack. */
  timeoutMs: number;
}

export interface AgentInvokeResult {
  payload: Buffer;
  functionError?: string;
  logResult?: string;
  /** Present on the invoke that initialised the runtime (cold start). */
  initDurationMs?: number;
  /** The runtime was restarted after this invoke (timeout, exit, OOM). */
  environmentReset: boolean;
}

/** The environment refused or failed the exchange itself (not a function error). */
export class AgentUnavailableError extends Error {
  constructor(
    message: string,
    readonly busy = false,
  ) {
    super(message);
  }
}

export interface AgentClient {
  invoke(address: string, req: AgentInvokeRequest): Promise<AgentInvokeResult>;
  close(): Promise<void>;
}

const INVOKE_PATH = '/2015-03-31/functions/function/invocations';

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export class HttpAgentClient implements AgentClient {
  private readonly dispatcher = new Agent({ keepAliveTimeout: 60_000, keepAliveMaxTimeout: 600_000 });

  async invoke(address: string, req: AgentInvokeRequest): Promise<AgentInvokeResult> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-amzn-requestid': req.requestId,
      'x-lamina-invoked-function-arn': req.invokedFunctionArn,
    };
    if (req.tail) headers['x-amz-log-type'] = 'Tail';
    if (req.clientContext) headers['x-amz-client-context'] = req.clientContext;
    if (req.traceId) headers['x-amzn-trace-id'] = req.traceId;
    let res;
    try {
      res = await request(`${address}${INVOKE_PATH}`, {
        method: 'POST',
        headers,
        body: req.payload,
        dispatcher: this.dispatcher,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
      });
    } catch (err) {
      throw new AgentUnavailableError(`environment at ${address} unreachable: ${(err as Error).message}`);
    }
    const body = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode === 503) {
      throw new AgentUnavailableError(`environment at ${address} is busy: ${body.toString()}`, true);
    }
    if (res.statusCode !== 200) {
      throw new AgentUnavailableError(
        `environment at ${address} answered ${res.statusCode}: ${body.toString()}`,
      );
    }
    const functionError = header(res.headers, 'x-amz-function-error');
    const logResult = header(res.headers, 'x-amz-log-result');
    const init = header(res.headers, 'x-lamina-init-duration-ms');
    return {
      payload: body,
      ...(functionError ? { functionError } : {}),
      ...(logResult ? { logResult } : {}),
      ...(init !== undefined && init !== '' && Number.isFinite(Number(init))
        ? { initDurationMs: Number(init) }
        : {}),
      environmentReset: header(res.headers, 'x-lamina-environment-reset') === 'true',
    };
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}
