// Prints enqueue figures for both EventQueue backends on this machine (not a test):
// sequential enqueue latency and concurrent enqueue throughput, plus lease+ack throughput.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventQueue } from '../../operator/src/gateway/async/event-queue.js';
import { NatsEventQueue } from '../../operator/src/gateway/async/nats/nats-queue.js';
import { SqliteEventQueue } from '../../operator/src/gateway/async/sqlite/sqlite-queue.js';
import { startNatsServer } from './nats-server.js';

const body = Buffer.from(JSON.stringify({ kind: 'invoke', payload: 'x'.repeat(512) }));

async function measure(name: string, queue: EventQueue): Promise<void> {
  const n = 1000;
  let t = performance.now();
  for (let i = 0; i < n; i++) await queue.enqueue({ id: `s${i}`, body });
  const sequentialMs = (performance.now() - t) / n;
  t = performance.now();
  await Promise.all(Array.from({ length: n * 5 }, (_, i) => queue.enqueue({ id: `c${i}`, body })));
  const concurrentPerSec = (n * 5) / ((performance.now() - t) / 1000);
  t = performance.now();
  let leased = 0;
  for (let lease = await queue.lease(); lease; lease = await queue.lease()) {
    await queue.ack(lease);
    leased++;
  }
  const drainPerSec = leased / ((performance.now() - t) / 1000);
  console.log(
    `${name}: sequential enqueue ${sequentialMs.toFixed(2)} ms each; concurrent enqueue ${concurrentPerSec.toFixed(0)}/s; lease+ack ${drainPerSec.toFixed(0)}/s (${leased} events)`,
  );
}

const dir = mkdtempSync(join(tmpdir(), 'lamina-bench-'));
const sqlite = new SqliteEventQueue({ path: join(dir, 'bench.db'), visibilityTimeoutMs: 60_000 });
await measure('sqlite', sqlite);
await sqlite.close();
rmSync(dir, { recursive: true, force: true });

const server = await startNatsServer();
const nats = await NatsEventQueue.open({ servers: server.url, visibilityTimeoutMs: 60_000 });
await measure('nats-jetstream', nats);
await nats.close();
await server.stop();
