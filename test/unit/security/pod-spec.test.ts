// Security invariants of every execution-environment pod, whatever the function asks for:
// non-root, read-only root, no capabilities, RuntimeDefault seccomp, no privilege escalation,
// nothing from the host, no API token unless the function names a service account.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { environmentSpec } from '../../../operator/src/gateway/environments/environment-spec.js';
import { environmentPod } from '../../../operator/src/gateway/environments/pod-spec.js';
import { activeFunction, snapshot } from '../gateway/fixtures.js';

const settings = { storeUrl: 'http://store:8090/', region: 'us-east-1' };

function pod(fnSpec: Parameters<typeof activeFunction>[1], snap: Parameters<typeof snapshot>[0] = {}): V1Pod {
  const spec = environmentSpec(activeFunction('f', fnSpec), '$LATEST', snapshot(snap), 'on-demand', settings);
  return environmentPod(spec, { image: 'lamina/runtime:dev', podName: 'f-latest-1' });
}

const variants: Array<[string, V1Pod]> = [
  ['a plain function', pod({})],
  [
    'a custom runtime at 10 GB with 10 GB /tmp',
    pod({ runtime: 'provided' }, { runtime: 'provided', memorySize: 10240, ephemeralStorageSize: 10240 }),
  ],
  ['a function with Secrets', pod({}, { environment: { secretRefs: [{ name: 'db' }] } })],
];

describe('execution-environment pod security', () => {
  for (const [name, p] of variants) {
    it(`${name}: non-root, read-only root, no capabilities, RuntimeDefault seccomp, no host access`, () => {
      const s = p.spec!;
      assert.equal(s.securityContext?.runAsNonRoot, true);
      assert.notEqual(s.securityContext?.runAsUser, 0);
      assert.deepEqual(s.securityContext?.seccompProfile, { type: 'RuntimeDefault' });
      assert.equal(s.automountServiceAccountToken, false);
      assert.equal(s.serviceAccountName, undefined);
      assert.equal(s.enableServiceLinks, false);
      for (const field of ['hostNetwork', 'hostPID', 'hostIPC', 'shareProcessNamespace'] as const) {
        assert.ok(!s[field], field);
      }
      assert.equal(s.initContainers, undefined);
      for (const v of s.volumes ?? []) {
        assert.deepEqual(Object.keys(v).sort(), ['emptyDir', 'name'], `volume ${v.name} must be an emptyDir`);
      }
      assert.equal(s.containers.length, 1);
      for (const c of s.containers) {
        const sc = c.securityContext!;
        assert.equal(sc.readOnlyRootFilesystem, true);
        assert.equal(sc.allowPrivilegeEscalation, false);
        assert.ok(!sc.privileged);
        assert.deepEqual(sc.capabilities, { drop: ['ALL'] });
        assert.ok(c.resources?.limits?.memory, 'a memory limit bounds every environment');
        assert.ok(!c.ports?.some((port) => port.hostPort), 'no host ports');
      }
      const tmp = s.volumes!.find((v) => v.name === 'tmp')!;
      assert.ok(tmp.emptyDir?.sizeLimit, '/tmp has a size limit (eviction past it)');
    });
  }

  it('mounts a service-account token only for a function that names its service account', () => {
    const withRole = pod({ serviceAccountName: 'reader' }, { serviceAccountName: 'reader' });
    const s = withRole.spec!;
    assert.equal(s.serviceAccountName, 'reader');
    assert.equal(s.automountServiceAccountToken, true);
  });

  it('never mounts Secrets as files, only as prefixed environment variables', () => {
    const p = variants[2]![1];
    const c = p.spec!.containers[0]!;
    assert.deepEqual(c.envFrom, [{ prefix: 'LAMINA_SECRET_', secretRef: { name: 'db' } }]);
    assert.ok(!(p.spec!.volumes ?? []).some((v) => 'secret' in v));
  });
});
