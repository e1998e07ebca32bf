// POSTs destination records and dead-lettered events to http(s) endpoints. Only a 2xx
// answer counts as delivered; the processor retries everything else with backoff.
import { Agent, request } from 'undici';

export interface HttpPost {
  post(url: string, body: string, headers: Record<string, string>): Promise<DeliveryResult>;
  close(): Promise<void>;
}

export type DeliveryResult = { ok: true; statusCode: number } | { ok: false; message: string };

export class UndiciHttpPost implements HttpPost {
  private readonly agent: Agent;

  constructor(private readonly timeoutMs = 10_000) {
    this.agent = new Agent({ keepAliveTimeout: 10_000, connections: 64 });
  }

  async post(url: string, body: string, headers: Record<string, string>): Promise<DeliveryResult> {
    try {
      const response = await request(url, {
        method: 'POST',
        body,
        headers,
        dispatcher: this.agent,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      await response.body.dump();
      if (response.statusCode >= 200 && response.statusCode < 300) {
        return { ok: true, statusCode: response.statusCode };
      }
      return { ok: false, message: `HTTP ${response.statusCode} from ${url}` };
    } catch (err) {
      return { ok: false, message: `POST ${url} failed: ${(err as Error).message}` };
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
