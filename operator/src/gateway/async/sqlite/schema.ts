// The embedded queue's tables. `visible_at` is when an event may next be leased: its due
// time, or the end of its current lease. A lease sets a fresh `receipt`; ack/requeue/extend
// only act on the row while it still carries that receipt.
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  body BLOB NOT NULL,
  enqueued_at INTEGER NOT NULL,
  visible_at INTEGER NOT NULL,
  deliveries INTEGER NOT NULL DEFAULT 0,
  receipt TEXT
);
CREATE INDEX IF NOT EXISTS events_visible ON events (visible_at, seq);
CREATE TABLE IF NOT EXISTS dead_letters (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL,
  body BLOB NOT NULL,
  reason TEXT NOT NULL,
  dead_lettered_at INTEGER NOT NULL
);
`;
