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
  const imageDefaults = { entrypoint: ['/var/runtime/bootstrap'], cmd: [] };
  return environmentPod(spec, { image: 'lamina/runtime:dev', podName: 'f-latest-1', imageDefaults });
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

  it("an image function's pod: the same invariants for both containers; one process namespace, nothing from the host", () => {
    const image = {
      uri: `registry.example.com/team/fn@sha256:${'e'.repeat(64)}`,
      imagePullSecrets: [{ name: 'regcred' }],
    };
    const p = pod(
      { runtime: undefined, handler: undefined, code: undefined, image: { uri: image.uri } },
      { runtime: undefined, handler: undefined, image },
    );
    const s = p.spec!;
    assert.equal(s.securityContext?.runAsNonRoot, true);
    assert.notEqual(s.securityContext?.runAsUser, 0);
    assert.deepEqual(s.securityContext?.seccompProfile, { type: 'RuntimeDefault' });
    assert.equal(s.automountServiceAccountToken, false);
    // The agent sees and signals the runtime's processes (same user as the zip pod's child).
    assert.equal(s.shareProcessNamespace, true);
    for (const field of ['hostNetwork', 'hostPID', 'hostIPC'] as const) assert.ok(!s[field], field);
    for (const v of s.volumes ?? []) {
      assert.deepEqual(Object.keys(v).sort(), ['emptyDir', 'name'], `volume ${v.name} must be an emptyDir`);
      assert.ok(v.emptyDir?.sizeLimit, `${v.name} has a size limit`);
    }
    const containers = [...(s.initContainers ?? []), ...s.containers];
    assert.deepEqual(
      containers.map((c) => c.name),
      ['agent', 'function'],
    );
    // The launcher the agent copies for the function's container cannot be changed from it.
    const launchMount = s.containers[0]?.volumeMounts?.find((m) => m.mountPath === '/lamina');
    assert.equal(launchMount?.readOnly, true);
    for (const c of containers) {
      const sc = c.securityContext!;
      assert.equal(sc.readOnlyRootFilesystem, true);
      assert.equal(sc.allowPrivilegeEscalation, false);
      assert.ok(!sc.privileged);
      assert.deepEqual(sc.capabilities, { drop: ['ALL'] });
      assert.ok(c.resources?.limits?.memory, `${c.name} has a memory limit`);
      assert.ok(!c.ports?.some((port) => port.hostPort), 'no host ports');
    }
  });

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
