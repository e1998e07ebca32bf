// Runtime API client: one keep-alive connection to the agent (the /next long poll and the
// result posts take turns on it), no timeouts (the /next poll may wait for hours).
import http from 'node:http';

const API = '/2018-06-01';
const BASE = `${API}/runtime`;

export class RapidClient {
  constructor(address) {
    const [hostname, port] = address.split(':');
    this.hostname = hostname;
    this.port = Number(port);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    // A streamed response holds its connection until the handler ends it: its own socket, so
    // a fatal error can still be reported beside it.
    this.streamAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  }

  /** Where a streaming response (streaming.mjs) is posted. */
  get streamTarget() {
    return { hostname: this.hostname, port: this.port, agent: this.streamAgent };
  }

  request(method, path, body, headers = {}) {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          hostname: this.hostname,
          port: this.port,
          method,
          path,
          agent: this.agent,
          headers: body === undefined ? headers : { 'Content-Length': Buffer.byteLength(body), ...headers },
        },
        (res) => {
          const chunks = [];
          res.on('data', (chunk) => chunks.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Lamina's `GET /2018-06-01/ping` (not Lambda's API): tells the agent this standby is parked. */
  async ping() {
    await this.request('GET', `${API}/ping?pid=${process.pid}`);
  }

  async next() {
    const res = await this.request('GET', `${BASE}/invocation/next`);
    if (res.status !== 200) throw new Error(`/invocation/next returned ${res.status}: ${res.body}`);
    return res;
  }

  async postResponse(requestId, text) {
    const res = await this.request(
      'POST',
      `${BASE}/invocation/${encodeURIComponent(requestId)}/response`,
      text,
      {
        'Content-Type': 'application/json',
      },
    );
    warnUnless202(res, 'response');
  }

  async postError(requestId, errorResponse) {
    const res = await this.request(
      'POST',
      `${BASE}/invocation/${encodeURIComponent(requestId)}/error`,
      JSON.stringify(errorResponse),
      { 'Content-Type': 'application/json', 'Lambda-Runtime-Function-Error-Type': errorResponse.errorType },
    );
    warnUnless202(res, 'error');
  }

  async postInitError(errorResponse) {
    const res = await this.request('POST', `${BASE}/init/error`, JSON.stringify(errorResponse), {
      'Content-Type': 'application/json',
      'Lambda-Runtime-Function-Error-Type': errorResponse.errorType,
    });
    warnUnless202(res, 'init error');
  }
}

/** A refused post (e.g. 413 for an oversized result) ends that invocation, not the runtime. */
function warnUnless202(res, what) {
  if (res.status !== 202) {
    process.stderr.write(`lamina runtime: posting the ${what} returned ${res.status}: ${res.body}\n`);
  }
}
