// Event source mappings on the installed release: the operator's pollers read a NATS JetStream
// stream (a nats-server on this machine's bridge address) and a rate(1 minute) schedule, and
// invoke a function through the gateway. NATS: every record delivered in order, a partial
// batch failure redelivered from the failed record on, disable/enable resuming from the
// consumer's position, delete stopping the pulls. Schedule: one tick, delivered once, claimed
// in status.lastTick. A small HTTP server on the bridge address records what the function saw.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { kubectl } from '../../harness/kube.js';
import { NODE_IP, startHostNats, type HostNats } from '../../harness/nats-host.js';
import { installedRelease } from '../../harness/release.js';

// Its own name each run: an event an interrupted earlier run left queued never reaches this one.
const FUNCTION = `esm-e2e-${randomBytes(3).toString('hex')}`;
const NAMESPACE = 'default';

function manifests(port: number, natsUrl: string): unknown[] {
  const host = `http://${NODE_IP}:${port}`;
  // The host answers /batch with the items to report failed: n = 5 on its first delivery.
  const handler = [
    'export const handler = async (event) => {',
    "  if (event['detail-type'] === 'Scheduled Event') {",
    `    await fetch('${host}/tick', { method: 'POST', body: JSON.stringify(event) });`,
    '    return {};',
    '  }',
    "  const records = event.Records.map((r) => ({ seq: r.sequence, n: JSON.parse(Buffer.from(r.data, 'base64')).n }));",
    `  const failed = await fetch('${host}/batch', { method: 'POST', body: JSON.stringify(records) }).then((r) => r.json());`,
    '  return { batchItemFailures: failed.map((seq) => ({ itemIdentifier: String(seq) })) };',
    '};',
  ].join('\n');
  const mapping = (name: string, spec: object) => ({
    apiVersion: 'lamina.dev/v1alpha1',
    kind: 'EventSourceMapping',
    metadata: { name, namespace: NAMESPACE },
    spec: { functionName: FUNCTION, ...spec },
  });
  return [
    {
      apiVersion: 'lamina.dev/v1alpha1',
      kind: 'Function',
      metadata: { name: FUNCTION, namespace: NAMESPACE },
      spec: {
        runtime: 'nodejs20.x',
        handler: 'index.handler',
        timeout: 10,
        code: { inline: { 'index.mjs': handler } },
        // NetworkPolicy keeps functions off the node's address; this opens the recorder's port.
        network: { egress: [{ to: [{ cidr: `${NODE_IP}/32` }], ports: [{ port }] }] },
      },
    },
    mapping('esm-e2e-orders', {
      source: { nats: { url: natsUrl, stream: 'orders', subject: 'orders.created' } },
      startingPosition: 'TRIM_HORIZON',
      batchSize: 10,
      maximumBatchingWindowInSeconds: 1,
      functionResponseTypes: ['ReportBatchItemFailures'],
    }),
    mapping('esm-e2e-every-minute', { source: { schedule: { expression: 'rate(1 minute)' } } }),
  ];
}

describe('event source mappings on the installed release', { concurrency: true }, () => {
  const batches: { seq: number; n: number }[][] = [];
  const ticks: { time: string; 'detail-type': string; source: string }[] = [];
  let server: Server;
  let nats: HostNats;
  let nc: NatsConnection;

  const apply = async (objects: unknown[]) => {
    const file = join(mkdtempSync(join(tmpdir(), 'lamina-esm-')), 'objects.json');
    writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
    await kubectl('apply', '-f', file);
  };
  const until = async <T>(check: () => T | Promise<T>, timeoutMs = 60_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await check();
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  };
  const delivered = () => batches.flat().map((r) => r.n);
  const publish = async (...ns: number[]) => {
    const js = jetstream(nc);
    for (const n of ns) await js.publish('orders.created', JSON.stringify({ n }));
  };

  before(async () => {
    await installedRelease();
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        if (req.url === '/tick') ticks.push(JSON.parse(body));
        if (req.url !== '/batch') return res.writeHead(200).end();
        const batch = JSON.parse(body) as { seq: number; n: number }[];
        const failed = batch.filter((r) => r.n === 5 && !delivered().includes(5)).map((r) => r.seq);
        batches.push(batch);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(failed));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, NODE_IP, resolve));
    nats = await startHostNats();
    nc = await connect({ servers: nats.url });
    await (await jetstreamManager(nc)).streams.add({ name: 'orders', subjects: ['orders.>'] });
    await publish(...Array.from({ length: 12 }, (_, i) => i + 1));
    await apply(manifests((server.address() as AddressInfo).port, nats.url));
    await kubectl('wait', '--for=jsonpath={.status.state}=Active', `function/${FUNCTION}`, '--timeout=120s');
  });

  after(async () => {
    await kubectl(
      'delete',
      '--ignore-not-found',
      'esm/esm-e2e-orders',
      'esm/esm-e2e-every-minute',
      `function/${FUNCTION}`,
    ).catch(() => undefined);
    await nc?.close();
    await nats?.stop();
    server?.close();
  });

  it('delivers a NATS stream in order, redelivers from a failed item, resumes after disable and stops on delete', async () => {
    const count = (n: number) => delivered().filter((x) => x === n).length;
    await until(() => assert.ok(count(10) >= 2 && count(12) >= 1, JSON.stringify(batches)));
    const firsts: number[] = [];
    for (const n of delivered()) if (!firsts.includes(n)) firsts.push(n);
    assert.deepEqual(
      firsts,
      Array.from({ length: 12 }, (_, i) => i + 1),
      'every record, in stream order',
    );
    assert.equal(count(5), 2, 'the failed record came back once');
    for (const n of [1, 2, 3, 4])
      assert.equal(count(n), 1, `${n} precedes the failure: checkpointed, not redelivered`);
    for (const n of [6, 7, 8, 9, 10])
      assert.equal(count(n), 2, `${n} follows the failure in its batch: redelivered`);
    const ok = await until(async () => {
      const { stdout } = await kubectl(
        'get',
        'esm/esm-e2e-orders',
        '-o',
        'jsonpath={.status.lastProcessingResult}',
      );
      assert.equal(stdout, 'OK');
      return stdout;
    });
    assert.equal(ok, 'OK');

    await kubectl('patch', 'esm/esm-e2e-orders', '--type=merge', '-p', '{"spec":{"enabled":false}}');
    await kubectl('wait', '--for=jsonpath={.status.state}=Disabled', 'esm/esm-e2e-orders', '--timeout=60s');
    const before = delivered().length;
    await publish(13, 14);
    await kubectl('patch', 'esm/esm-e2e-orders', '--type=merge', '-p', '{"spec":{"enabled":true}}');
    await until(() => assert.deepEqual(delivered().slice(before), [13, 14]));

    await kubectl('delete', 'esm/esm-e2e-orders', '--wait=true');
    const jsm = await jetstreamManager(nc);
    await until(async () =>
      assert.equal(
        (await jsm.consumers.info('orders', (await jsm.consumers.list('orders').next())[0]!.name))
          .num_waiting,
        0,
      ),
    );
    await publish(15);
    const info = await until(async () => {
      const [consumer] = await jsm.consumers.list('orders').next();
      const state = await jsm.consumers.info('orders', consumer!.name);
      assert.equal(state.num_pending, 1);
      return state;
    });
    assert.equal(info.num_waiting, 0, 'nobody pulls for a deleted mapping');
  });

  it('delivers a rate(1 minute) tick once, claimed in status.lastTick', async () => {
    const tick = await until(() => {
      assert.ok(ticks[0], 'no tick yet');
      return ticks[0];
    }, 80_000);
    assert.equal(tick['detail-type'], 'Scheduled Event');
    assert.equal(tick.source, 'aws.events');
    assert.equal(Date.parse(tick.time) % 60_000, 0, 'on the minute');
    const { stdout } = await kubectl('get', 'esm/esm-e2e-every-minute', '-o', 'jsonpath={.status.lastTick}');
    assert.ok(
      Date.parse(stdout) >= Date.parse(tick.time),
      `status.lastTick ${stdout} is before the tick ${tick.time}`,
    );
    assert.equal(ticks.filter((t) => t.time === tick.time).length, 1, 'one delivery for the tick');
  });
});
