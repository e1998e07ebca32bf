import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { environmentSpec } from '../../../../operator/src/gateway/environments/environment-spec.js';
import {
  AGENT_MEMORY_MIB,
  cpuRequestMillis,
  environmentPod,
} from '../../../../operator/src/gateway/environments/pod-spec.js';
import { podToRecord } from '../../../../operator/src/gateway/kubernetes/kubernetes-provider.js';
import { activeFunction, snapshot } from '../fixtures.js';

const settings = { storeUrl: 'http://store:8090/', region: 'us-east-1' };

describe('environment pod spec', () => {
  const fn = activeFunction('calc');
  const snap = snapshot({
    memorySize: 1769,
    ephemeralStorageSize: 1024,
    environment: { variables: { A: '1' }, secretRefs: [{ name: 'db' }] },
    layers: [{ namespace: 'default', name: 'libs', version: 2, sha256: 'b'.repeat(64) }],
  });
  const spec = environmentSpec(fn, '3', snap, 'on-demand', settings);
  const pod = environmentPod(spec, { image: 'lamina/runtime:dev', podName: 'calc-3-abcd' });
  const container = pod.spec!.containers[0]!;

  it('passes the agent its function configuration', () => {
    const config = JSON.parse(container.env!.find((e) => e.name === 'LAMINA_FUNCTION')!.value!);
    assert.deepEqual(config, {
      functionName: 'calc',
      namespace: 'default',
      version: '3',
      runtime: 'nodejs20.x',
      handler: 'index.handler',
      memorySize: 1769,
      timeout: 3,
      environment: { A: '1' },
      packageType: 'Zip',
      code: { url: `http://store:8090/blobs/sha256/${'a'.repeat(64)}`, sha256: 'a'.repeat(64) },
      layers: [{ url: `http://store:8090/blobs/sha256/${'b'.repeat(64)}`, sha256: 'b'.repeat(64) }],
      functionArn: 'arn:aws:lambda:us-east-1:default:function:calc',
      region: 'us-east-1',
      initializationType: 'on-demand',
      maxUnzippedBytes: 262144000,
    });
  });

  it("sizes memory as the function's plus the agent's, CPU in proportion (1769 MB = 1 vCPU), request only", () => {
    assert.equal(AGENT_MEMORY_MIB, 32);
    assert.deepEqual(container.resources, {
      requests: { cpu: '1000m', memory: '1801Mi' },
      limits: { memory: '1801Mi' },
    });
    assert.equal(cpuRequestMillis(128), 72);
  });

  it('locks the pod down', () => {
    assert.equal(pod.spec!.automountServiceAccountToken, false);
    assert.equal(pod.spec!.enableServiceLinks, false);
    assert.deepEqual(pod.spec!.securityContext?.seccompProfile, { type: 'RuntimeDefault' });
    assert.equal(pod.spec!.securityContext?.runAsUser, 993);
    assert.equal(container.securityContext?.readOnlyRootFilesystem, true);
    assert.deepEqual(container.securityContext?.capabilities, { drop: ['ALL'] });
    assert.equal(container.imagePullPolicy, 'IfNotPresent');
  });

  it('keeps serving a second after deletion begins, inside a grace that leaves extensions their 2 s', () => {
    assert.deepEqual(container.lifecycle, { preStop: { sleep: { seconds: 1 } } });
    assert.equal(pod.spec!.terminationGracePeriodSeconds, 4);
  });

  it('mounts /var/task, /opt and a size-limited /tmp', () => {
    assert.deepEqual(
      container.volumeMounts!.map((m) => m.mountPath),
      ['/var/task', '/opt', '/tmp'],
    );
    assert.equal(pod.spec!.volumes!.find((v) => v.name === 'tmp')!.emptyDir!.sizeLimit, '1024Mi');
  });

  it('attaches secrets under the LAMINA_SECRET_ prefix', () => {
    assert.deepEqual(container.envFrom, [{ prefix: 'LAMINA_SECRET_', secretRef: { name: 'db' } }]);
  });

  it('mounts a token only for a named service account', () => {
    const withSa = environmentPod(
      environmentSpec(fn, '3', { ...snap, serviceAccountName: 'reader' }, 'on-demand', settings),
      {
        image: 'i',
        podName: 'p',
      },
    );
    assert.equal(withSa.spec!.automountServiceAccountToken, true);
    assert.equal(withSa.spec!.serviceAccountName, 'reader');
  });

  it('is owned by the Function and labelled so the gateway can find it again', () => {
    assert.deepEqual(pod.metadata!.ownerReferences, [
      {
        apiVersion: 'lamina.dev/v1alpha1',
        kind: 'Function',
        name: 'calc',
        uid: 'uid-calc',
        blockOwnerDeletion: false,
      },
    ]);
    const record = podToRecord({
      ...pod,
      status: { podIP: '10.1.2.3', conditions: [{ type: 'Ready', status: 'True' }] },
    });
    assert.equal(record?.key, spec.key);
    assert.equal(record?.address, 'http://10.1.2.3:8080');
    assert.equal(record?.ready, true);
    assert.equal(record?.version, '3');
  });

  it('changes the environment key when the configuration changes', () => {
    const other = environmentSpec(fn, '3', { ...snap, memorySize: 256 }, 'on-demand', settings);
    assert.notEqual(other.key, spec.key);
    const provisioned = environmentSpec(fn, '3', snap, 'provisioned-concurrency', settings);
    assert.equal(provisioned.key, spec.key);
  });

  it('labels $LATEST as LATEST', () => {
    const latest = environmentPod(environmentSpec(fn, '$LATEST', snap, 'on-demand', settings), {
      image: 'i',
      podName: 'p',
    });
    assert.equal(latest.metadata!.labels!['lamina.dev/version'], 'LATEST');
  });

  it('sees image pull failures as failed environments', () => {
    const record = podToRecord({
      ...pod,
      status: {
        containerStatuses: [
          {
            name: 'function',
            image: 'i',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: 'ImagePullBackOff' } },
          },
        ],
      },
    });
    assert.match(record?.failure ?? '', /ImagePullBackOff/);
  });
});
