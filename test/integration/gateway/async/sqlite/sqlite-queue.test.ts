// An acknowledged enqueue survives the process dying right after it (kill -9): WAL with
// synchronous=FULL means the commit is on disk before enqueue resolves.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { SqliteEventQueue } from '../../../../../operator/src/gateway/async/sqlite/sqlite-queue.js';

const child = fileURLToPath(new URL('../fixtures/enqueue-child.ts', import.meta.url));

describe('SQLite event queue durability', () => {
  it('keeps every event whose enqueue resolved when the process is killed with SIGKILL', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'lamina-kill-'));
    const db = join(dir, 'events.db');
    try {
      const proc = spawn(process.execPath, ['--import', 'tsx', child], {
        env: { ...process.env, LAMINA_TEST_DB: db },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const acknowledged: string[] = [];
      let buffered = '';
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('child never acknowledged 25 enqueues')), 30_000);
        proc.stdout.on('data', (chunk: Buffer) => {
          buffered += chunk.toString();
          const lines = buffered.split('\n');
          buffered = lines.pop() ?? '';
          for (const line of lines) if (line.startsWith('ENQUEUED ')) acknowledged.push(line.slice(9));
          if (acknowledged.length >= 25 && proc.exitCode === null) {
            // Right after an enqueue resolved: no clean shutdown, no close().
            proc.kill('SIGKILL');
            clearTimeout(timer);
            resolve();
          }
        });
        proc.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      await exited;
      assert.equal(proc.signalCode, 'SIGKILL');

      const queue = new SqliteEventQueue({ path: db, visibilityTimeoutMs: 60_000 });
      try {
        const stored = new Set<string>();
        for (let lease = await queue.lease(); lease; lease = await queue.lease()) stored.add(lease.id);
        const missing = acknowledged.filter((id) => !stored.has(id));
        t.diagnostic(`acknowledged ${acknowledged.length}, found ${stored.size} after SIGKILL`);
        assert.deepEqual(missing, []);
      } finally {
        await queue.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
