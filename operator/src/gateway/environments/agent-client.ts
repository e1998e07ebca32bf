// The gateway side of the gateway ↔ agent protocol (operator/src/protocol): invoke over a
// keep-alive connection pool (undici keeps one per environment address) and specialise a
// generic warm-pool agent with its function configuration.
import { Agent, type Dispatcher, request } from 'undici';
import {
  AGENT_HEADERS,
  AGENT_PATHS,
  type FunctionConfig,
  type PhaseTimings,
  phasesFrom,
  type SpecializeResult,
} from '../../protocol/index.js';

export type { SpecializeResult };

export interface AgentInvokeRequest {
  requestId: string;
  payload: Buffer;
  invokedFunctionArn: string;
  /** Ask for the last 4 KB of logs (X-Amz-Log-Type: Tail). */
  tail: boolean;
  /** Base64 client context, passed through unchanged. */
  clientContext?: string;
  traceId?: string;
  /** Take the response as a stream: bytes reach the sink as the function writes them. */
  stream?: AgentStreamSink;
  /** Upper bound for the whole exchange: the function timeout plus slack. */
  timeoutMs: number;
}

/** Where a streamed response goes; `write` resolving is the go-ahead for the next chunk. */
export interface AgentStreamSink {
  /** Once, before any chunk, with the function's content type. */
  start(contentType: string): void;
  write(chunk: Buffer): Promise<void> | void;
}

export interface AgentInvokeResult {
  /** The response or, with functionError, the error document; empty when streamed. */
  payload: Buffer;
  functionError?: string;
  logResult?: string;
  /** Present on the invoke that initialised the runtime (cold start). */
  initDurationMs?: number;
  /** The runtime was restarted after this invoke (timeout, exit, OOM). */
  environmentReset: boolean;
  /** When Init and the Invoke phase ran, as the agent timed them (absent from older agents). */
  phases?: PhaseTimings;
}

/** The environment refused or failed the exchange itself (not a function error). */
export class AgentUnavailableError extends Error {
  constructor(
    message: string,
    readonly busy = false,
    /** No connection could be made: nothing of the invocation reached the agent. */
    readonly notSent = false,
  ) {
    super(message);
  }
}

/** Specialisation failed; the agent stays generic. */
export class SpecializeError extends Error {
  constructor(
    message: string,
    /** The agent's error type, e.g. CodeVerificationFailedException, Lamina.AlreadySpecialized. */
    readonly errorType?: string,
  ) {
    super(message);
  }
}

/** An agent running an invocation, idle with its function, or without a function (generic). */
export type AgentActivity = 'busy' | 'idle' | 'generic';

export interface AgentClient {
  invoke(address: string, req: AgentInvokeRequest): Promise<AgentInvokeResult>;
  /** What the agent is doing now. */
  activity?(address: string): Promise<AgentActivity>;
  close(): Promise<void>;
}

export interface Specializer {
  /**
   * Hands a generic agent its configuration and answers once Init is over. An Init *failure*
   * is still a specialised environment (its next invoke reports the error, as Lambda does);
   * anything that is not a 200 leaves the agent generic and throws SpecializeError.
   */
  specialize(address: string, config: FunctionConfig, timeoutMs: number): Promise<SpecializeResult>;
  close(): Promise<void>;
}

/** One header's (or trailer's) value, the first when repeated. */
export function header(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** How the invocation ended, from the agent's headers (buffered) or trailers (streamed). */
export function outcome(
  payload: Buffer,
  fields: Record<string, string | string[] | undefined>,
): AgentInvokeResult {
  const functionError = header(fields, AGENT_HEADERS.functionError);
  const logResult = header(fields, AGENT_HEADERS.logResult);
  const init = header(fields, AGENT_HEADERS.initDurationMs);
  const phases = phasesFrom(fields);
  return {
    payload,
    ...(functionError ? { functionError } : {}),
    ...(logResult ? { logResult } : {}),
    ...(init !== undefined && init !== '' && Number.isFinite(Number(init))
      ? { initDurationMs: Number(init) }
      : {}),
    environmentReset: header(fields, AGENT_HEADERS.environmentReset) === 'true',
    ...(phases ? { phases } : {}),
  };
}

/**
 * A streamed answer in the agent protocol's form (an agent's, or an owning replica relaying
 * one): chunks go to the sink as they arrive, the outcome comes from the trailers. A broken-off
 * body becomes `brokeOff(err)`.
 */
export async function readStreamed(
  res: Dispatcher.ResponseData,
  sink: AgentStreamSink,
  brokeOff: (err: Error) => Error,
): Promise<AgentInvokeResult> {
  sink.start(header(res.headers, 'content-type') ?? 'application/octet-stream');
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) await sink.write(chunk);
  } catch (err) {
    throw brokeOff(err as Error);
  }
  const trailers = res.trailers as Record<string, string | undefined>;
  const errorBody = trailers[AGENT_HEADERS.functionErrorBody];
  return outcome(errorBody ? Buffer.from(errorBody, 'base64') : Buffer.alloc(0), trailers);
}

/** How long an invoke whose connection is refused is tried again before the environment counts as gone. */
const REFUSED_RETRY_MS = 2000;
const REFUSED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);

/** The connection was refused or had no route: nothing of the request was sent. */
export function connectionRefused(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  const cause = (err as { cause?: { code?: string } }).cause?.code;
  return REFUSED.has(code ?? '') || REFUSED.has(cause ?? '');
}

/** No connection within the connect timeout (a pod that is gone drops the SYN): nothing was sent. */
function connectTimedOut(err: unknown): boolean {
  return (err as { code?: string }).code === 'UND_ERR_CONNECT_TIMEOUT';
}

export class HttpAgentClient implements AgentClient, Specializer {
  // A live agent's kernel answers a connect at once, however busy the node: 5 s without an
  // answer is a pod that is gone (undici's default would wait 10 s).
  private readonly invokeDispatcher = new Agent({
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 600_000,
    connect: { timeout: 5000 },
  });
  // Every pool pod is specialised once: those connections are not worth keeping.
  private readonly specializeDispatcher = new Agent({ keepAliveTimeout: 1000, pipelining: 0 });

  async invoke(address: string, req: AgentInvokeRequest): Promise<AgentInvokeResult> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      [AGENT_HEADERS.requestId]: req.requestId,
      [AGENT_HEADERS.invokedFunctionArn]: req.invokedFunctionArn,
    };
    if (req.tail) headers[AGENT_HEADERS.logType] = 'Tail';
    if (req.clientContext) headers[AGENT_HEADERS.clientContext] = req.clientContext;
    if (req.traceId) headers[AGENT_HEADERS.traceId] = req.traceId;
    if (req.stream) headers[AGENT_HEADERS.responseStream] = 'true';
    let res;
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        // The dispatcher's own request (origin and path apart): no URL to parse on every invoke.
        res = await this.invokeDispatcher.request({
          origin: address,
          path: AGENT_PATHS.invoke,
          method: 'POST',
          headers,
          body: req.payload,
          headersTimeout: req.timeoutMs,
          bodyTimeout: req.timeoutMs,
        });
        break;
      } catch (err) {
        // Refused before anything was sent: the invocation never reached the agent. A pod whose
        // labels just changed (a warm-pool pod handed to a function) can be refused for a moment
        // while NetworkPolicy enforcement catches up, so try again briefly.
        if (connectionRefused(err) && Date.now() - started < REFUSED_RETRY_MS) {
          await new Promise((resolve) => setTimeout(resolve, Math.min(25 * 2 ** attempt, 400)));
          continue;
        }
        throw new AgentUnavailableError(
          `environment at ${address} unreachable: ${(err as Error).message}`,
          false,
          connectionRefused(err) || connectTimedOut(err),
        );
      }
    }
    if (req.stream && res.statusCode === 200) return this.streamed(address, res, req.stream);
    const body = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode === 503) {
      throw new AgentUnavailableError(`environment at ${address} is busy: ${body.toString()}`, true);
    }
    if (res.statusCode !== 200) {
      throw new AgentUnavailableError(
        `environment at ${address} answered ${res.statusCode}: ${body.toString()}`,
      );
    }
    return outcome(body, res.headers);
  }

  /** The agent's streamed answer: chunks to the sink as they arrive, the outcome from trailers. */
  private streamed(
    address: string,
    res: Dispatcher.ResponseData,
    sink: AgentStreamSink,
  ): Promise<AgentInvokeResult> {
    return readStreamed(
      res,
      sink,
      (err) => new AgentUnavailableError(`environment at ${address} broke off its stream: ${err.message}`),
    );
  }

  /** What the agent is doing (its /healthz): an invocation, nothing, or it has no function yet. */
  async activity(address: string): Promise<AgentActivity> {
    const res = await request(`${address}${AGENT_PATHS.health}`, {
      dispatcher: this.specializeDispatcher,
      headersTimeout: 2000,
      bodyTimeout: 2000,
    });
    const body = (await res.body.json().catch(() => ({}))) as { busy?: unknown; functionName?: unknown };
    if (!body.functionName) return 'generic';
    return body.busy === true ? 'busy' : 'idle';
  }

  async specialize(address: string, config: FunctionConfig, timeoutMs: number): Promise<SpecializeResult> {
    let res;
    try {
      res = await request(`${address}${AGENT_PATHS.specialize}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(config),
        dispatcher: this.specializeDispatcher,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (err) {
      throw new SpecializeError(`specialising ${address} failed: ${(err as Error).message}`);
    }
    const text = await res.body.text();
    if (res.statusCode !== 200) {
      throw new SpecializeError(
        `specialising ${address} answered ${res.statusCode}: ${text.slice(0, 500)}`,
        header(res.headers, AGENT_HEADERS.errorType),
      );
    }
    return JSON.parse(text) as SpecializeResult;
  }

  async close(): Promise<void> {
    await Promise.all([this.invokeDispatcher.close(), this.specializeDispatcher.close()]);
  }
}
