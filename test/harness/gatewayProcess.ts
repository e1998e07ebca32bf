// The gateway as a host process (operator/src/main-gateway.ts under tsx), configured through
// LAMINA_* variables like the Helm chart does, for e2e tests and benchmarks.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { waitFor } from './gatewayKube.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface GatewayProcess {
  url: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

export async function startGatewayProcess(env: Record<string, string>): Promise<GatewayProcess> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'operator/src/main-gateway.ts'], {
    cwd: repoRoot,
    env: { ...process.env, LAMINA_GATEWAY_PORT: String(port), LAMINA_GATEWAY_HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    'the gateway to be healthy',
    async () => {
      if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}`);
      return (await fetch(`${url}/healthz`).catch(() => undefined))?.ok || undefined;
    },
    30_000,
    250,
  );
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}
