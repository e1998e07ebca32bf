// API calls through loadKubeConfig share their connections to a real kube-apiserver (over TLS
// with the cluster's CA, as in a pod): client-node on its own opens one per call.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '../../../operator/src/kube/index.js';
import { ensureControlPlane } from '../../harness/control-plane.js';

/** Established TCP connections of this process to `port`, from /proc. */
function connectionsTo(port: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  let count = 0;
  for (const table of ['/proc/self/net/tcp', '/proc/self/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const remotePort = parseInt(f[2]!.split(':')[1]!, 16);
      if (remotePort === port && f[3] === '01' && inodes.has(f[9]!)) count += 1;
    }
  }
  return count;
}

/** New connections after ten calls one after another, and after three more at once. */
async function callsAndConnections(kc: KubeConfig): Promise<{ sequential: number; total: number }> {
  const port = Number(new URL(kc.getCurrentCluster()!.server).port || 443);
  const before = connectionsTo(port);
  const api = kc.makeApiClient(CoreV1Api);
  for (let i = 0; i < 10; i++) await api.readNamespace({ name: 'default' });
  const sequential = connectionsTo(port) - before;
  await Promise.all([1, 2, 3].map(() => api.readNamespace({ name: 'default' })));
  return { sequential, total: connectionsTo(port) - before };
}

describe('loadKubeConfig', () => {
  it('sends ten calls over one or two connections (client-node alone: one each)', async () => {
    const path = process.env.KUBECONFIG ?? (await ensureControlPlane()).kubeconfigPath;
    const pooled = await callsAndConnections(loadKubeConfig(path));
    // (undici sometimes opens a second one for the call right after the first)
    assert.ok(pooled.sequential <= 2, `ten calls one after another: ${pooled.sequential} connections`);
    assert.ok(pooled.total <= 5, `three more at once: ${pooled.total} connections in all`);

    // The same calls through client-node's own KubeConfig, so the test shows what it guards.
    const plain = new KubeConfig();
    plain.loadFromFile(path);
    const unpooled = await callsAndConnections(plain);
    assert.ok(unpooled.sequential > 5, `client-node's KubeConfig: ${unpooled.sequential} connections`);
  });
});
