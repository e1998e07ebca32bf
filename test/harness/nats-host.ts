// A NATS JetStream server for event-source e2e tests, on this machine's bridge address so the
// cluster's pods (the operator's pollers) reach it as nats://10.88.0.1:<port>. Debian's
// nats-server (scripts/nats/nats-server.ts installs it when missing), its own store directory,
// stopped and removed by the test.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { natsServerBinary } from '../../scripts/nats/nats-server.js';

import { NODE_IP } from './cluster.js';

export { NODE_IP };

export interface HostNats {
  url: string;
  stop(): Promise<void>;
}

async function freePort(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startHostNats(): Promise<HostNats> {
  const dir = mkdtempSync(join(tmpdir(), 'lamina-esm-nats-'));
  const port = await freePort(NODE_IP);
  const config = join(dir, 'nats.conf');
  writeFileSync(
    config,
    `listen: "${NODE_IP}:${port}"\njetstream { store_dir: ${JSON.stringify(join(dir, 'js'))} }\n`,
  );
  const child = spawn(natsServerBinary(), ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not start: ${output}`)), 15_000);
    const seen = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Server is ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', seen);
    child.stderr?.on('data', seen);
    child.once('exit', (code) => reject(new Error(`nats-server exited (${code}): ${output}`)));
  });
  return {
    url: `nats://${NODE_IP}:${port}`,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
