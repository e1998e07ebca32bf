import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLaunchReport } from '../../../runtime-image/agent/src/launch-protocol.js';

describe("an image function's launcher, as the agent reads it", () => {
  it('reads the pid of the entry point it started, then how that ended', () => {
    assert.deepEqual(parseLaunchReport('pid 42'), { kind: 'pid', pid: 42 });
    assert.deepEqual(parseLaunchReport('exit 3'), { kind: 'exit', code: 3, signal: null });
    assert.deepEqual(parseLaunchReport('signal 9'), { kind: 'exit', code: null, signal: 'SIGKILL' });
    assert.deepEqual(parseLaunchReport('signal 6'), { kind: 'exit', code: null, signal: 'SIGABRT' });
  });

  it('names the errno of an entry point that could not be run, and its path', () => {
    assert.deepEqual(parseLaunchReport('error 2 /lambda-entrypoint.sh'), {
      kind: 'error',
      code: 'ENOENT',
      path: '/lambda-entrypoint.sh',
    });
    assert.deepEqual(parseLaunchReport('error 13 /app/run with spaces'), {
      kind: 'error',
      code: 'EACCES',
      path: '/app/run with spaces',
    });
    assert.deepEqual(parseLaunchReport('error 111'), { kind: 'error', code: 'ECONNREFUSED', path: '' });
  });

  it('ignores what it does not know', () => {
    assert.equal(parseLaunchReport('hello'), undefined);
    assert.equal(parseLaunchReport('pid'), undefined);
    assert.equal(parseLaunchReport('exit -1'), undefined);
  });
});
