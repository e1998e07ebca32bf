import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { foreignPids } from '../../../runtime-image/agent/src/container-runtime.js';

describe("an image function's runtime, seen from the agent's container", () => {
  it("counts the processes of other containers but the pod's pause process (pid 1)", () => {
    const cgroups: Record<string, string> = {
      self: '4:memory:/kubepods/pod1/agent\n',
      '1': '4:memory:/kubepods/pod1/pause\n',
      '7': '4:memory:/kubepods/pod1/agent\n',
      '12': '4:memory:/kubepods/pod1/function\n',
      '30': '4:memory:/kubepods/pod1/function\n',
    };
    const list = () => ['1', '7', '30', '12', 'self', 'net', '99'];
    assert.deepEqual(
      foreignPids(list, (pid) => cgroups[pid]),
      [12, 30],
    );
  });
});
