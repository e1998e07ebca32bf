import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MemoryWatch } from '../../../runtime-image/agent/src/memory.js';
import { classifyDeath, describeExit } from '../../../runtime-image/agent/src/runtime-process.js';

describe('describeExit (Lambda wording, from Go os/exec)', () => {
  test('exit codes, signals and exec failures', () => {
    assert.equal(describeExit({ code: 1, signal: null }), 'Runtime exited with error: exit status 1');
    assert.equal(describeExit({ code: 0, signal: null }), 'Runtime exited without providing a reason');
    assert.equal(
      describeExit({ code: null, signal: 'SIGKILL' }),
      'Runtime exited with error: signal: killed',
    );
    assert.equal(
      describeExit({ code: null, signal: 'SIGSEGV' }),
      'Runtime exited with error: signal: segmentation fault',
    );
    const spawnError = Object.assign(new Error('spawn'), { code: 'EACCES', path: '/var/task/bootstrap' });
    assert.equal(
      describeExit({ code: null, signal: null, spawnError }),
      'fork/exec /var/task/bootstrap: permission denied',
    );
  });
});

describe('classifyDeath (out-of-memory rule)', () => {
  const config = 128;
  const watch = (peakMb: number, oomKilled: boolean): MemoryWatch => ({
    wrap: (command, args) => ({ command, args }),
    attach: () => {},
    sample: () => {},
    peakBytes: () => peakMb * 1024 * 1024,
    oomKilled: () => oomKilled,
    dispose: async () => {},
  });
  const killed = { code: null, signal: 'SIGKILL' as const };

  test('SIGKILL with the OOM counter moved is Runtime.OutOfMemory', () => {
    assert.equal(classifyDeath(killed, watch(10, true), config, ''), 'Runtime.OutOfMemory');
  });

  test('SIGKILL with the peak at 90% of the memory size or more is Runtime.OutOfMemory', () => {
    assert.equal(classifyDeath(killed, watch(116, false), config, ''), 'Runtime.OutOfMemory');
    assert.equal(classifyDeath(killed, watch(100, false), config, ''), 'Runtime.ExitError');
  });

  test("V8's heap exhaustion (SIGABRT with its message) is Runtime.OutOfMemory", () => {
    const abort = { code: null, signal: 'SIGABRT' as const };
    assert.equal(
      classifyDeath(
        abort,
        watch(50, false),
        config,
        'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
      ),
      'Runtime.OutOfMemory',
    );
    assert.equal(classifyDeath(abort, watch(50, false), config, 'assertion failed'), 'Runtime.ExitError');
  });

  test('an ordinary exit is Runtime.ExitError', () => {
    assert.equal(classifyDeath({ code: 1, signal: null }, watch(127, true), config, ''), 'Runtime.ExitError');
  });
});
