// Test harness for the agent: real agent processes on free ports with temp directories,
// real zips built here with adm-zip, served by a local artifact store over HTTP.
import AdmZip from 'adm-zip';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { Agent, createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
export const fixturesDir = join(repoRoot, 'test/fixtures/functions');
/** Upper bound for any single wait, so a broken agent fails a test instead of hanging it. */
export const WAIT_MS = 20_000;

// ---- the agent under test ----------------------------------------------------------------

/**
 * The image's agent (runtime-image/agent-go), built here once per run into the cache
 * (build.sh skips a build whose inputs are unchanged); no Go fails the run. LAMINA_AGENT_BIN
 * runs another compiled agent.
 */
let builtAgent: string | undefined;
export function agentCommand(): [string, string[]] {
  if (process.env.LAMINA_AGENT_BIN) return [process.env.LAMINA_AGENT_BIN, []];
  if (!builtAgent) {
    const cache = process.env.LAMINA_CACHE ?? join(homedir(), '.cache/lamina');
    const out = join(cache, 'agent-go/lamina-agent');
    const build = spawnSync(join(repoRoot, 'runtime-image/agent-go/build.sh'), [out], { encoding: 'utf8' });
    if (build.status !== 0)
      throw new Error(
        `building the agent (runtime-image/agent-go/build.sh) failed:\n${build.stderr}${build.error ?? ''}`,
      );
    builtAgent = out;
  }
  return [builtAgent, []];
}

// ---- zips -------------------------------------------------------------------------------

export type ZipSpec = Record<
  string,
  string | Buffer | { data: string | Buffer; mode?: number } | { symlink: string }
>;

/** Builds a zip in memory. Modes default to 0644 (0755 for names ending in "bootstrap"). */
export function zipOf(files: ZipSpec): Buffer {
  const zip = new AdmZip();
  for (const [name, spec] of Object.entries(files)) {
    if (typeof spec === 'object' && !Buffer.isBuffer(spec) && 'symlink' in spec) {
      const entry = zip.addFile(name, Buffer.from(spec.symlink));
      entry.attr = ((0o120777 << 16) | 0) >>> 0;
      continue;
    }
    const data = typeof spec === 'string' || Buffer.isBuffer(spec) ? spec : spec.data;
    const mode =
      typeof spec === 'object' && !Buffer.isBuffer(spec) && spec.mode !== undefined
        ? spec.mode
        : name.endsWith('bootstrap')
          ? 0o755
          : 0o644;
    zip.addFile(name, Buffer.isBuffer(data) ? data : Buffer.from(data), '', mode);
  }
  return zip.toBuffer();
}

/** Every file under a fixture directory, with its mode, as a ZipSpec (prefix puts it in a subfolder). */
export const fixtureFiles = (dir: string, prefix = ''): ZipSpec => filesUnder(join(fixturesDir, dir), prefix);

/** Every file under an absolute directory, with its mode, as a ZipSpec. */
export function filesUnder(root: string, prefix = ''): ZipSpec {
  const spec: ZipSpec = {};
  const walk = (current: string) => {
    for (const name of readdirSync(current)) {
      const path = join(current, name);
      const info = statSync(path);
      if (info.isDirectory()) {
        if (name !== '__pycache__') walk(path);
      } else {
        spec[prefix + relative(root, path)] = { data: readFileSync(path), mode: info.mode & 0o777 };
      }
    }
  };
  walk(root);
  return spec;
}

export const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

// ---- artifact store ---------------------------------------------------------------------

export interface ArtifactStore {
  /** Stores bytes and returns the `{url, sha256}` a configuration pins. */
  put(bytes: Buffer): { url: string; sha256: string };
  requests: number;
  close(): Promise<void>;
}

export async function startArtifactStore(): Promise<ArtifactStore> {
  const blobs = new Map<string, Buffer>();
  const store = { requests: 0 } as ArtifactStore;
  const server = createServer((req, res) => {
    store.requests += 1;
    const match = /^\/blobs\/sha256\/([a-f0-9]{64})$/.exec(req.url ?? '');
    const blob = match ? blobs.get(match[1] as string) : undefined;
    if (!blob) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/zip', 'Content-Length': blob.length }).end(blob);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  store.put = (bytes) => {
    const digest = sha256(bytes);
    blobs.set(digest, bytes);
    return { url: `${base}/blobs/sha256/${digest}`, sha256: digest };
  };
  store.close = () => new Promise((resolve) => server.close(() => resolve()));
  return store;
}

// ---- function configuration -------------------------------------------------------------

export interface FunctionInput {
  functionName?: string;
  runtime: string;
  handler: string;
  code: { url: string; sha256: string };
  layers?: { url: string; sha256: string }[];
  memorySize?: number;
  timeout?: number;
  environment?: Record<string, string>;
  version?: string;
  initializationType?: string;
  maxUnzippedBytes?: number;
}

export function functionConfig(input: FunctionInput): Record<string, unknown> {
  const functionName = input.functionName ?? 'calc';
  return {
    functionName,
    namespace: 'default',
    version: input.version ?? '$LATEST',
    memorySize: 128,
    timeout: 3,
    environment: {},
    layers: [],
    functionArn: `arn:aws:lambda:us-east-1:default:function:${functionName}`,
    region: 'us-east-1',
    initializationType: 'on-demand',
    ...input,
  };
}

// ---- interpreters -----------------------------------------------------------------------

/** The Python the tests run functions with: LAMINA_TEST_PYTHON, else python3.13, else python3. */
export const pythonBin: string = (() => {
  for (const candidate of [process.env.LAMINA_TEST_PYTHON, 'python3.13', 'python3']) {
    if (candidate && spawnSync(candidate, ['-c', 'import sys'], { stdio: 'ignore' }).status === 0)
      return candidate;
  }
  return 'python3';
})();

export const pythonVersion: string = spawnSync(pythonBin, [
  '-c',
  'import sys; print(f"python{sys.version_info[0]}.{sys.version_info[1]}")',
])
  .stdout.toString()
  .trim();

// ---- the agent --------------------------------------------------------------------------

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json: <T = Record<string, unknown>>() => T;
}

export interface AgentProcess {
  port: number;
  taskRoot: string;
  optRoot: string;
  tmp: string;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  invoke(payload: unknown, headers?: Record<string, string>): Promise<HttpResult>;
  specialize(config: unknown): Promise<HttpResult>;
  health(): Promise<HttpResult>;
  get(path: string): Promise<HttpResult>;
  waitForStdout(pattern: RegExp): Promise<void>;
  stop(): Promise<void>;
}

const keepAlive = new Agent({ keepAlive: true });

export function httpRequest(
  port: number,
  method: string,
  path: string,
  body?: Buffer | string,
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, headers, agent: keepAlive, timeout: WAIT_MS },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const data = Buffer.concat(chunks);
          const text = data.toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: data,
            text,
            json: () => JSON.parse(text),
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} took longer than ${WAIT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

export interface StartOptions {
  /** Function configuration to specialise with at start (LAMINA_FUNCTION). */
  fn?: Record<string, unknown>;
  env?: Record<string, string>;
}

export async function startAgent(options: StartOptions = {}): Promise<AgentProcess> {
  const tmp = mkdtempSync(join(tmpdir(), 'lamina-agent-'));
  const taskRoot = join(tmp, 'task');
  const optRoot = join(tmp, 'opt');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LAMINA_AGENT_HOST: '127.0.0.1',
    LAMINA_AGENT_PORT: '0',
    LAMINA_RUNTIME_API_PORT: '0',
    LAMINA_TASK_ROOT: taskRoot,
    LAMINA_OPT_ROOT: optRoot,
    LAMINA_RUNTIME_DIR: join(repoRoot, 'runtime-image/runtimes'),
    LAMINA_PYTHON_BIN: pythonBin,
    ...(options.fn ? { LAMINA_FUNCTION: JSON.stringify(options.fn) } : {}),
    ...options.env,
  };
  // The image links /var/node_modules (beside the task root) to the runtime's node_modules.
  const runtimeModules = join(env.LAMINA_RUNTIME_DIR ?? '', 'node_modules');
  if (existsSync(runtimeModules)) symlinkSync(runtimeModules, join(tmp, 'node_modules'));
  const [command, args] = agentCommand();
  const child = spawn(command, args, {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const stdoutWaiters: { pattern: RegExp; resolve: () => void }[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const waiter of [...stdoutWaiters]) {
      if (waiter.pattern.test(stdout)) {
        stdoutWaiters.splice(stdoutWaiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  });
  const port = await new Promise<number>((resolve, reject) => {
    const fail = (err: Error) => {
      rmSync(tmp, { recursive: true, force: true });
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`agent did not start:\n${stderr}`)), WAIT_MS);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /"msg":"agent listening","invokePort":(\d+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`agent exited with ${code} before listening:\n${stderr}`));
    });
  });
  const agent: AgentProcess = {
    port,
    taskRoot,
    optRoot,
    tmp,
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    invoke: (payload, headers = {}) =>
      httpRequest(
        port,
        'POST',
        '/2015-03-31/functions/function/invocations',
        Buffer.isBuffer(payload) ? payload : JSON.stringify(payload),
        headers,
      ),
    specialize: (config) =>
      httpRequest(
        port,
        'POST',
        '/lamina/v1/specialize',
        typeof config === 'string' ? config : JSON.stringify(config),
      ),
    health: () => httpRequest(port, 'GET', '/healthz'),
    get: (path) => httpRequest(port, 'GET', path),
    waitForStdout: (pattern) =>
      new Promise((resolve, reject) => {
        if (pattern.test(stdout)) return resolve();
        const timer = setTimeout(
          () => reject(new Error(`stdout never matched ${pattern}:\n${stdout}`)),
          WAIT_MS,
        );
        stdoutWaiters.push({
          pattern,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      }),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(tmp, { recursive: true, force: true });
    },
  };
  return agent;
}

/** Waits until /healthz says the agent is no longer initializing. */
export async function waitUntilSettled(agent: AgentProcess): Promise<Record<string, unknown>> {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    const res = await agent.health();
    if (res.status === 200) return res.json();
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`agent still initializing after ${WAIT_MS} ms:\n${agent.stderr()}`);
}

export interface AgentFixture {
  /** The suite's artifact store (set once `before` has run). */
  readonly store: ArtifactStore;
  /** Starts an agent that is stopped with the suite. */
  start(options?: StartOptions): Promise<AgentProcess>;
}

/**
 * One artifact store and the agents a suite starts, all stopped after the suite. Call it
 * inside `describe`: it registers the suite's `before` and `after` hooks.
 */
export function agentFixture(): AgentFixture {
  const started: AgentProcess[] = [];
  let store: ArtifactStore | undefined;
  before(async () => {
    store = await startArtifactStore();
  });
  after(async () => {
    await Promise.all(started.map((agent) => agent.stop()));
    await store?.close();
  });
  return {
    get store() {
      if (!store) throw new Error('agentFixture().store is used before its before() hook ran');
      return store;
    },
    async start(options) {
      const agent = await startAgent(options);
      started.push(agent);
      return agent;
    },
  };
}
