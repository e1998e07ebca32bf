import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { foreignPids } from '../../../runtime-image/agent/src/container-runtime.js';

describe("an image function's runtime, seen from the agent's container", () => {
  it("counts the processes of the function's container: another cgroup and the Runtime API's address", () => {
    const cgroups: Record<string, string> = {
      self: '4:memory:/kubepods/pod1/agent\n',
      '1': '4:memory:/kubepods/pod1/pause\n',
      '7': '4:memory:/kubepods/pod1/agent\n',
      '12': '4:memory:/kubepods/pod1/function\n',
      '30': '4:memory:/kubepods/pod1/function\n',
      '40': '4:memory:/system/containerd\n',
    };
    const environs: Record<string, string | undefined> = {
      '1': '',
      '7': 'LAMINA_FUNCTION={}\0AWS_LAMBDA_RUNTIME_API_X=1\0',
      '12': 'PATH=/bin\0AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001\0',
      '30': 'AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001\0HOME=/\0',
      // A container runtime helper passing through the pod's process namespace: root's, unreadable.
      '40': undefined,
    };
    const list = () => ['1', '7', '30', '12', '40', 'self', 'net', '99'];
    assert.deepEqual(
      foreignPids(
        list,
        (pid) => cgroups[pid],
        (pid) => environs[pid],
      ),
      [12, 30],
    );
  });
});
