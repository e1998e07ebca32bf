// Asynchronous invocation on the local cluster, through Lamina as installed by `npm run up`:
// 200 Event invokes are accepted (202), the gateway pod is killed while most of them are
// still queued, and after the new gateway pod starts on the same volume every accepted
// event reaches its on-success or on-failure destination (an HTTP server on the node's
// bridge address), with Lambda's destination record. Duplicates are allowed
// (at-least-once) and printed.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { adminKubeConfig, waitFor } from '../harness/gatewayKube.js';
import { kubectl } from '../harness/kube.js';

const EVENTS = 200;
const NODE_IP = '10.88.0.1'; // the bridge address pods reach the host at (scripts/cluster/lib.sh)

interface DestinationRecord {
  requestContext: { requestId: string; condition: string; approximateInvokeCount: number };
  requestPayload: { i: number; fail: boolean };
  responseContext?: { statusCode: number; functionError?: string };
}

function functionManifest(port: number): string {
  return JSON.stringify({
    apiVersion: 'lamina.dev/v1alpha1',
    kind: 'Function',
    metadata: { name: 'async-e2e', namespace: 'default' },
    spec: {
      runtime: 'nodejs20.x',
      handler: 'index.handler',
      asyncInvoke: {
        maximumRetryAttempts: 0,
        destinationConfig: {
          onSuccess: { destination: `http://${NODE_IP}:${port}/success` },
          onFailure: { destination: `http://${NODE_IP}:${port}/failure` },
        },
      },
      code: {
        inline: {
          'index.mjs': [
            'export const handler = async (event) => {',
            '  await new Promise((resolve) => setTimeout(resolve, 300));',
            '  if (event.fail) throw new Error(`event ${event.i} fails on purpose`);',
            '  return { i: event.i };',
            '};',
          ].join('\n'),
        },
      },
    },
  });
}

describe('asynchronous invocation survives a gateway restart', () => {
  const gateway = process.env.LAMINA_GATEWAY;
  const received: Array<{ path: string; record: DestinationRecord }> = [];
  let server: Server;
  let port: number;

  before(async () => {
    assert.ok(gateway, 'LAMINA_GATEWAY must be set (npm run up prints it)');
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({ path: req.url ?? '', record: JSON.parse(body) as DestinationRecord });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, NODE_IP, resolve));
    port = (server.address() as AddressInfo).port;
    const file = join(mkdtempSync(join(tmpdir(), 'lamina-async-')), 'function.json');
    writeFileSync(file, functionManifest(port));
    await kubectl('apply', '-f', file);
    await kubectl('wait', '--for=jsonpath={.status.state}=Active', 'function/async-e2e', '--timeout=120s');
  });

  after(async () => {
    await kubectl('delete', '--ignore-not-found', 'function/async-e2e').catch(() => undefined);
    server?.close();
  });

  it('delivers every accepted event exactly to the destination its outcome calls for', async () => {
    const accepted = new Map<string, number>();
    const send = async (i: number) => {
      const response = await fetch(`${gateway}/2015-03-31/functions/async-e2e/invocations`, {
        method: 'POST',
        headers: { 'X-Amz-Invocation-Type': 'Event' },
        body: JSON.stringify({ i, fail: i % 3 === 0 }),
      });
      assert.equal(response.status, 202, await response.text());
      accepted.set(response.headers.get('x-amzn-requestid')!, i);
    };
    for (let batch = 0; batch < EVENTS; batch += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, k) => send(batch + k)));
    }

    // Delivery has only begun (cold starts, 300 ms per event): kill the gateway now.
    const queuedAtKill = EVENTS - received.length;
    const kc = await adminKubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    const pods = await core.listNamespacedPod({
      namespace: 'lamina-system',
      labelSelector: 'app.kubernetes.io/component=gateway',
    });
    for (const pod of pods.items) {
      await core.deleteNamespacedPod({
        namespace: 'lamina-system',
        name: pod.metadata!.name!,
        gracePeriodSeconds: 0,
      });
    }

    const delivered = () => new Set(received.map((r) => r.record.requestContext.requestId));
    await waitFor(
      'every accepted event to reach a destination',
      () => delivered().size >= EVENTS || undefined,
      240_000,
      500,
    );

    const seen = new Map<string, number>();
    for (const { path, record } of received) {
      const id = record.requestContext.requestId;
      seen.set(id, (seen.get(id) ?? 0) + 1);
      const i = accepted.get(id);
      assert.notEqual(i, undefined, `a record for a request that was never accepted: ${id}`);
      assert.equal(record.requestPayload.i, i);
      if (record.requestPayload.fail) {
        assert.equal(path, '/failure');
        assert.equal(record.requestContext.condition, 'RetriesExhausted');
        assert.equal(record.responseContext?.functionError, 'Unhandled');
      } else {
        assert.equal(path, '/success');
        assert.equal(record.requestContext.condition, 'Success');
      }
    }
    assert.equal(seen.size, EVENTS);
    const duplicates = [...seen.values()].reduce((sum, n) => sum + n - 1, 0);
    console.log(
      `async e2e: ${EVENTS} accepted, ${queuedAtKill} not yet delivered when the gateway was killed, ${duplicates} duplicates`,
    );
  });
});
