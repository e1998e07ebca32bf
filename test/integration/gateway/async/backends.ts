// The EventQueue backends under test, each behind the same small harness: open a queue on
// named storage, restart the backend, clean up. The contract tests run against every one.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNatsServer } from '../../../../scripts/nats/nats-server.js';
import type { EventQueue } from '../../../../operator/src/gateway/async/event-queue.js';
import { NatsEventQueue } from '../../../../operator/src/gateway/async/nats/nats-queue.js';
import { SqliteEventQueue } from '../../../../operator/src/gateway/async/sqlite/sqlite-queue.js';

export interface BackendHarness {
  /** A queue on the storage called `key`; opening the same key again sees the same events. */
  open(key: string, visibilityTimeoutMs: number): Promise<EventQueue>;
  /** Restarts the backend itself (the server), keeping its storage. */
  restart(): Promise<void>;
  dispose(): Promise<void>;
}

export async function sqliteHarness(): Promise<BackendHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'lamina-sqlite-'));
  return {
    async open(key, visibilityTimeoutMs) {
      return new SqliteEventQueue({ path: join(dir, `${key}.db`), visibilityTimeoutMs });
    },
    async restart() {
      // Embedded: nothing runs between close and reopen.
    },
    async dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function natsHarness(): Promise<BackendHarness> {
  const server = await startNatsServer();
  return {
    open(key, visibilityTimeoutMs) {
      return NatsEventQueue.open({ servers: server.url, stream: key.toUpperCase(), visibilityTimeoutMs });
    },
    restart: () => server.restart(),
    dispose: () => server.stop(),
  };
}

export const BACKENDS: Array<[string, () => Promise<BackendHarness>]> = [
  ['sqlite', sqliteHarness],
  ['nats-jetstream', natsHarness],
];
