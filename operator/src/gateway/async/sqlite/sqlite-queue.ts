// The embedded EventQueue: one SQLite file on the gateway's PersistentVolume (better-sqlite3).
// WAL journal; enqueues commit with synchronous=FULL, so an enqueue resolves only once its
// commit is fsynced. Enqueues arriving in the same tick share one
// commit (group commit), which keeps the fsync count low under load. One process owns the
// file (the single-replica gateway); NATS JetStream is the backend for several replicas.
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { DeadLetter, EventQueue, LeasedEvent, NewEvent, QueueStats } from '../event-queue.js';
import { SCHEMA } from './schema.js';

export interface SqliteQueueOptions {
  /** The database file; its directory is created if missing. */
  path: string;
  visibilityTimeoutMs: number;
  now?: () => number;
}

interface EventRow {
  id: string;
  body: Buffer;
  enqueued_at: number;
  deliveries: number;
  receipt: string;
}

export class SqliteEventQueue implements EventQueue {
  private readonly db: Database.Database;
  private readonly now: () => number;
  private readonly statements;
  private pending: Array<{ event: NewEvent; done: (err?: Error) => void }> = [];

  constructor(private readonly opts: SqliteQueueOptions) {
    this.now = opts.now ?? Date.now;
    mkdirSync(dirname(opts.path), { recursive: true });
    this.db = new Database(opts.path);
    this.db.pragma('journal_mode = WAL');
    // Enqueues commit with FULL (see flush); leases, acks and requeues with NORMAL. The WAL is
    // one append-only file, so the next FULL commit's fsync makes everything before it durable
    // too: a power loss can only forget the latest acks/requeues, which replays events
    // (at-least-once), never an acknowledged enqueue.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.statements = {
      insert: this.db.prepare(
        `INSERT OR IGNORE INTO events (id, body, enqueued_at, visible_at) VALUES (?, ?, ?, ?)`,
      ),
      lease: this.db.prepare(
        `UPDATE events SET receipt = ?, visible_at = ?, deliveries = deliveries + 1
         WHERE seq = (SELECT seq FROM events WHERE visible_at <= ? ORDER BY visible_at, seq LIMIT 1)
         RETURNING id, body, enqueued_at, deliveries, receipt`,
      ),
      extend: this.db.prepare(`UPDATE events SET visible_at = ? WHERE id = ? AND receipt = ?`),
      delete: this.db.prepare(`DELETE FROM events WHERE id = ? AND receipt = ?`),
      requeue: this.db.prepare(
        `UPDATE events SET visible_at = ?, body = coalesce(?, body), receipt = NULL WHERE id = ? AND receipt = ?`,
      ),
      park: this.db.prepare(
        `INSERT INTO dead_letters (id, body, reason, dead_lettered_at)
         SELECT id, body, ?, ? FROM events WHERE id = ? AND receipt = ?`,
      ),
      stats: this.db.prepare(
        `SELECT (SELECT count(*) FROM events) AS depth, (SELECT min(enqueued_at) FROM events) AS oldest,
                (SELECT count(*) FROM dead_letters) AS dead`,
      ),
      deadLetters: this.db.prepare(
        `SELECT id, body, reason, dead_lettered_at FROM dead_letters ORDER BY seq DESC LIMIT ?`,
      ),
    };
  }

  enqueue(event: NewEvent): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => this.flush());
      this.pending.push({ event, done: (err) => (err ? reject(err) : resolve()) });
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    const now = this.now();
    try {
      this.db.pragma('synchronous = FULL');
      this.db.transaction(() => {
        for (const { event } of batch)
          this.statements.insert.run(event.id, event.body, now, event.dueAt ?? now);
      })();
    } catch (err) {
      for (const item of batch) item.done(err as Error);
      return;
    } finally {
      if (this.db.open) this.db.pragma('synchronous = NORMAL');
    }
    for (const item of batch) item.done();
  }

  async lease(): Promise<LeasedEvent | undefined> {
    const now = this.now();
    const row = this.statements.lease.get(randomUUID(), now + this.opts.visibilityTimeoutMs, now) as
      EventRow | undefined;
    if (!row) return undefined;
    return {
      id: row.id,
      body: row.body,
      enqueuedAt: row.enqueued_at,
      deliveryCount: row.deliveries,
      receipt: row.receipt,
    };
  }

  async extend(lease: LeasedEvent): Promise<void> {
    this.statements.extend.run(this.now() + this.opts.visibilityTimeoutMs, lease.id, lease.receipt);
  }

  async ack(lease: LeasedEvent): Promise<void> {
    this.statements.delete.run(lease.id, lease.receipt);
  }

  async requeue(lease: LeasedEvent, dueAt: number, body?: Buffer): Promise<void> {
    this.statements.requeue.run(dueAt, body ?? null, lease.id, lease.receipt);
  }

  async deadLetter(lease: LeasedEvent, reason: string): Promise<void> {
    this.db.transaction(() => {
      this.statements.park.run(reason, this.now(), lease.id, lease.receipt);
      this.statements.delete.run(lease.id, lease.receipt);
    })();
  }

  async stats(): Promise<QueueStats> {
    const row = this.statements.stats.get() as { depth: number; oldest: number | null; dead: number };
    return {
      depth: row.depth,
      ...(row.oldest !== null ? { oldestEnqueuedAt: row.oldest } : {}),
      deadLettered: row.dead,
    };
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    const rows = this.statements.deadLetters.all(limit) as Array<{
      id: string;
      body: Buffer;
      reason: string;
      dead_lettered_at: number;
    }>;
    return rows.map((r) => ({
      id: r.id,
      body: r.body,
      reason: r.reason,
      deadLetteredAt: r.dead_lettered_at,
    }));
  }

  async close(): Promise<void> {
    if (this.pending.length > 0) this.flush();
    if (this.db.open) this.db.close();
  }
}
