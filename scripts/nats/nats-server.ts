// Starts a real nats-server (Debian's package, JetStream on) on a loopback port with its
// own store directory, for tests and local runs. Installs the package with apt-get when it
// is missing and we are root, so a fresh machine needs no manual step.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NatsServer {
  url: string;
  storeDir: string;
  /** SIGKILL, no clean shutdown. */
  kill(): Promise<void>;
  /** Stops (SIGTERM) and starts again on the same port and store. */
  restart(): Promise<void>;
  /** Stops and removes the store unless it was given. */
  stop(): Promise<void>;
}

const CANDIDATES = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'];

export function natsServerBinary(): string {
  const found = () => {
    const which = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' });
    if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
    return CANDIDATES.find((p) => existsSync(p));
  };
  let bin = found();
  if (bin) return bin;
  if (process.getuid?.() === 0) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = () =>
      spawnSync('apt-get', ['install', '-y', '-q', 'nats-server'], { stdio: 'inherit', env });
    if (install().status !== 0) {
      spawnSync('apt-get', ['update', '-q'], { stdio: 'inherit', env });
      install();
    }
    bin = found();
    if (bin) return bin;
  }
  throw new Error('nats-server is not installed (Debian: apt-get install -y nats-server)');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function waitForReady(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`nats-server did not start:\n${log}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('Server is ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with ${code}:\n${log}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startNatsServer(options: { storeDir?: string } = {}): Promise<NatsServer> {
  const bin = natsServerBinary();
  const storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), 'lamina-nats-'));
  const port = await freePort();
  const config = join(storeDir, 'nats.conf');
  // Async payloads are up to 1 MB plus the queue's envelope: raise the 1 MB default.
  writeFileSync(
    config,
    `listen: "127.0.0.1:${port}"\nmax_payload: 8MB\njetstream { store_dir: ${JSON.stringify(join(storeDir, 'js'))} }\n`,
  );
  let child: ChildProcess;
  const launch = async () => {
    child = spawn(bin, ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    await waitForReady(child, 15_000);
  };
  await launch();
  const terminate = async (signal: NodeJS.Signals) => {
    child.kill(signal);
    await exited(child);
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    storeDir,
    kill: () => terminate('SIGKILL'),
    async restart() {
      await terminate('SIGTERM');
      await launch();
    },
    async stop() {
      await terminate('SIGTERM');
      if (!options.storeDir) rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
