import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ownOomCounterFile } from '../../../runtime-image/agent/src/memory.js';

/** A /proc/self/cgroup and a /sys/fs/cgroup with the given files, in a temporary directory. */
function fakeCgroups(procSelfCgroup: string, files: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'lamina-cgroup-'));
  const root = join(dir, 'sys/fs/cgroup');
  for (const file of files) {
    mkdirSync(join(root, file, '..'), { recursive: true });
    writeFileSync(join(root, file), 'oom_kill 0\n');
  }
  writeFileSync(join(dir, 'cgroup'), procSelfCgroup);
  return { proc: join(dir, 'cgroup'), root };
}

describe("the container's OOM-kill counter", () => {
  const v1 = '4:memory:/kubepods/burstable/pod1/c0ffee\n3:cpu,cpuacct:/kubepods/burstable/pod1/c0ffee\n';

  test('cgroup v1 in a container: its own cgroup is mounted at the root, not at the host path', () => {
    const { proc, root } = fakeCgroups(v1, ['memory/memory.oom_control']);
    assert.deepEqual(ownOomCounterFile(proc, root), {
      path: join(root, 'memory/memory.oom_control'),
      key: 'oom_kill',
    });
  });

  test('cgroup v1 on a host: the cgroup at its path', () => {
    const { proc, root } = fakeCgroups(v1, [
      'memory/memory.oom_control',
      'memory/kubepods/burstable/pod1/c0ffee/memory.oom_control',
    ]);
    assert.equal(
      ownOomCounterFile(proc, root)?.path,
      join(root, 'memory/kubepods/burstable/pod1/c0ffee/memory.oom_control'),
    );
  });

  test('cgroup v2 with a cgroup namespace', () => {
    const { proc, root } = fakeCgroups('0::/\n', ['memory.events']);
    assert.equal(ownOomCounterFile(proc, root)?.path, join(root, 'memory.events'));
  });

  test('no memory cgroup: none', () => {
    const { proc, root } = fakeCgroups('3:cpu:/x\n', []);
    assert.equal(ownOomCounterFile(proc, root), undefined);
  });
});
