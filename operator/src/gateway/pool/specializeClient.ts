// POST /lamina/v1/specialize to a generic agent: hands it its function configuration and
// answers once Init is over (runtime-image/agent/README.md). An Init *failure* is still a
// specialised environment (its next invoke reports the error, as Lambda does); anything
// that is not a 200 leaves the agent generic and is thrown here.
import { Agent, request } from 'undici';
import type { AgentFunctionConfig } from '../environments/types.js';

export interface SpecializeResult {
  state: 'ready' | 'failed';
  initDurationMs?: number;
  artifactsDurationMs?: number;
}

export interface Specializer {
  specialize(address: string, config: AgentFunctionConfig, timeoutMs: number): Promise<SpecializeResult>;
  close(): Promise<void>;
}

export class SpecializeError extends Error {
  constructor(
    message: string,
    /** The agent's error type, e.g. CodeVerificationFailedException, Lamina.AlreadySpecialized. */
    readonly errorType?: string,
  ) {
    super(message);
  }
}

export class HttpSpecializer implements Specializer {
  // Every pool pod is specialised once: connections are not worth keeping.
  private readonly dispatcher = new Agent({ keepAliveTimeout: 1000, pipelining: 0 });

  async specialize(
    address: string,
    config: AgentFunctionConfig,
    timeoutMs: number,
  ): Promise<SpecializeResult> {
    let res;
    try {
      res = await request(`${address}/lamina/v1/specialize`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(config),
        dispatcher: this.dispatcher,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (err) {
      throw new SpecializeError(`specialising ${address} failed: ${(err as Error).message}`);
    }
    const text = await res.body.text();
    if (res.statusCode !== 200) {
      const errorType = res.headers['x-amzn-errortype'];
      throw new SpecializeError(
        `specialising ${address} answered ${res.statusCode}: ${text.slice(0, 500)}`,
        typeof errorType === 'string' ? errorType : undefined,
      );
    }
    return JSON.parse(text) as SpecializeResult;
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}
