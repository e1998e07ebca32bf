import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkQueue } from '../../../../operator/src/controller/framework/workqueue.js';
import { ManualClock } from '../../../../operator/src/shared/clock.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('WorkQueue', () => {
  it('runs nothing until started, then each queued key once (deduplicated)', async () => {
    const seen: string[] = [];
    const queue = new WorkQueue({
      workers: 2,
      clock: new ManualClock(),
      process: async (key) => void seen.push(key),
    });
    queue.add('a');
    queue.add('a');
    queue.add('b');
    await tick();
    assert.deepEqual(seen, []);
    queue.start();
    await queue.idle();
    assert.deepEqual(seen.sort(), ['a', 'b']);
  });

  it('never runs one key twice at once; a key added meanwhile runs again afterwards', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const queue = new WorkQueue({
      workers: 4,
      clock: new ManualClock(),
      process: async () => {
        running++;
        runs++;
        maxRunning = Math.max(maxRunning, running);
        if (runs === 1) await gate;
        running--;
      },
    });
    queue.start();
    queue.add('k');
    await tick();
    queue.add('k');
    queue.add('k');
    release();
    await queue.idle();
    await queue.idle();
    assert.equal(maxRunning, 1);
    assert.equal(runs, 2);
  });

  it('retries a failing key with exponential backoff, and forgets failures on success', async () => {
    const clock = new ManualClock();
    const attempts: number[] = [];
    const delays: number[] = [];
    const queue = new WorkQueue({
      workers: 1,
      clock,
      baseDelayMs: 100,
      maxDelayMs: 1000,
      process: async () => {
        attempts.push(clock.now());
        if (attempts.length < 4) throw new Error('boom');
      },
      onError: (_key, _err, retryInMs) => delays.push(retryInMs),
    });
    queue.start();
    queue.add('x');
    for (let i = 0; i < 4; i++) {
      await queue.idle();
      clock.advance(1000);
    }
    await queue.idle();
    assert.deepEqual(delays, [100, 200, 400]);
    assert.equal(attempts.length, 4);
    assert.equal(queue.retryDelay(20), 1000, 'capped');
  });

  it('requeues after the delay a reconcile asks for', async () => {
    const clock = new ManualClock();
    let runs = 0;
    const queue = new WorkQueue({
      workers: 1,
      clock,
      process: async () => (++runs === 1 ? { requeueAfterMs: 500 } : undefined),
    });
    queue.start();
    queue.add('y');
    await queue.idle();
    clock.advance(499);
    await queue.idle();
    assert.equal(runs, 1);
    clock.advance(1);
    await queue.idle();
    assert.equal(runs, 2);
  });

  it('stops: drops queued keys and delayed retries, waits for the running one', async () => {
    const clock = new ManualClock();
    let finished = false;
    const queue = new WorkQueue({
      workers: 1,
      clock,
      process: async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        finished = true;
      },
    });
    queue.start();
    queue.add('a');
    queue.add('b');
    queue.addAfter('c', 100);
    await tick();
    await queue.stop();
    assert.equal(finished, true);
    clock.advance(1000);
    queue.add('d');
    assert.equal(queue.depth, 0);
  });
});
