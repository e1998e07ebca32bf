import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { snapshotOfLatest } from '../../../../operator/src/api/index.js';
import { environmentSpec } from '../../../../operator/src/gateway/environments/environment-spec.js';
import { LAUNCHER, launchCommand } from '../../../../operator/src/gateway/environments/image-pod.js';
import { environmentPod } from '../../../../operator/src/gateway/environments/pod-spec.js';
import { podFailure, podToRecord } from '../../../../operator/src/gateway/kubernetes/kubernetes-provider.js';
import { poolShapeFor } from '../../../../operator/src/gateway/pool/shapes.js';
import { activeFunction, snapshot } from '../fixtures.js';

const settings = { storeUrl: 'http://store:8090/', region: 'us-east-1' };
const DIGEST = `sha256:${'c'.repeat(64)}`;
const URI = `registry.example.com/team/fn@${DIGEST}`;

describe('image function environment pod', () => {
  const fn = activeFunction('imgfn');
  const snap = snapshot({
    runtime: undefined,
    handler: undefined,
    codeSha256: 'c'.repeat(64),
    codeSize: 0,
    memorySize: 256,
    environment: { variables: { GREETING: 'hi' }, secretRefs: [{ name: 'db' }] },
    image: {
      uri: URI,
      imageConfig: {
        entryPoint: ['/lambda-entrypoint.sh'],
        command: ['app.handler'],
        workingDirectory: '/app',
      },
      imagePullSecrets: [{ name: 'regcred' }],
    },
  });
  const spec = environmentSpec(fn, '2', snap, 'on-demand', settings);
  const pod = environmentPod(spec, { image: 'lamina/runtime:dev', podName: 'imgfn-2-abcd' });
  const podSpec = pod.spec!;
  const fnContainer = podSpec.containers[0]!;
  const agent = podSpec.initContainers![0]!;
  const env = Object.fromEntries(fnContainer.env!.map((e) => [e.name, e.value]));

  it("runs the function's image by digest as the main container, with its imageConfig overrides", () => {
    assert.equal(podSpec.containers.length, 1);
    assert.equal(fnContainer.name, 'function');
    assert.equal(fnContainer.image, URI);
    // Behind the launcher the agent copies into the shared emptyDir (read-only here).
    assert.deepEqual(fnContainer.command, ['/lamina/lamina-launch', '/lambda-entrypoint.sh', 'app.handler']);
    assert.equal(fnContainer.args, undefined);
    assert.deepEqual(
      fnContainer.volumeMounts?.find((m) => m.name === 'lamina'),
      { name: 'lamina', mountPath: '/lamina', readOnly: true },
    );
    assert.deepEqual(
      agent.volumeMounts?.find((m) => m.name === 'lamina'),
      { name: 'lamina', mountPath: '/lamina' },
    );
    assert.equal(fnContainer.workingDir, '/app');
    assert.deepEqual(podSpec.imagePullSecrets, [{ name: 'regcred' }]);
    assert.equal(fnContainer.terminationMessagePolicy, 'FallbackToLogsOnError');
  });

  it('runs the agent as a native sidecar in a shared process namespace, held until it waits for the runtime', () => {
    assert.equal(podSpec.shareProcessNamespace, true);
    assert.equal(podSpec.restartPolicy, 'Never');
    assert.equal(agent.name, 'agent');
    assert.equal(agent.restartPolicy, 'Always');
    assert.equal(agent.image, 'lamina/runtime:dev');
    assert.ok(agent.readinessProbe?.httpGet);
    assert.match(agent.lifecycle!.postStart!.exec!.command!.join(' '), /lamina-runtime-expected/);
    const config = JSON.parse(agent.env!.find((e) => e.name === 'LAMINA_FUNCTION')!.value!);
    assert.equal(config.packageType, 'Image');
    assert.equal(config.code, undefined);
    assert.deepEqual(config.layers, []);
  });

  it("gives the runtime the Runtime API's address and Lambda's reserved variables, then the function's", () => {
    assert.equal(env.AWS_LAMBDA_RUNTIME_API, '127.0.0.1:9001');
    assert.equal(agent.env!.find((e) => e.name === 'LAMINA_RUNTIME_API_PORT')?.value, '9001');
    assert.equal(env.AWS_LAMBDA_FUNCTION_NAME, 'imgfn');
    assert.equal(env.AWS_LAMBDA_FUNCTION_VERSION, '2');
    assert.equal(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE, '256');
    assert.equal(env.AWS_REGION, 'us-east-1');
    assert.equal(env._HANDLER, 'app.handler');
    assert.equal(env.GREETING, 'hi');
    assert.deepEqual(fnContainer.envFrom, [{ secretRef: { name: 'db' } }]);
  });

  it("holds the function's container to memorySize and the agent to its own allowance; locks both down", () => {
    assert.deepEqual(fnContainer.resources?.limits, { memory: '256Mi' });
    assert.deepEqual(agent.resources?.limits, { memory: '32Mi' });
    for (const c of [fnContainer, agent]) {
      assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
      assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
    }
    assert.equal(podSpec.securityContext?.runAsUser, 993);
    // The gateway reads the function's memory back from the pod.
    const record = podToRecord({
      ...pod,
      status: { podIP: '10.0.0.9', conditions: [{ type: 'Ready', status: 'True' }] },
    });
    assert.equal(record?.memorySize, 256);
  });

  it("runs the image's own ENTRYPOINT and CMD unless imageConfig replaces them, with Kubernetes' rule", () => {
    const image = { uri: URI };
    const defaults = { entrypoint: ['/lambda-entrypoint.sh'], cmd: ['app.handler'] };
    assert.deepEqual(launchCommand(image, defaults), [LAUNCHER, '/lambda-entrypoint.sh', 'app.handler']);
    assert.deepEqual(launchCommand({ ...image, imageConfig: { command: ['other.handler'] } }, defaults), [
      LAUNCHER,
      '/lambda-entrypoint.sh',
      'other.handler',
    ]);
    // An entry point given without a command drops the image's CMD, as a container's command does.
    assert.deepEqual(launchCommand({ ...image, imageConfig: { entryPoint: ['/bootstrap'] } }, defaults), [
      LAUNCHER,
      '/bootstrap',
    ]);
    assert.deepEqual(launchCommand({ ...image, imageConfig: { entryPoint: ['/bootstrap'] } }), [
      LAUNCHER,
      '/bootstrap',
    ]);
    assert.throws(() => launchCommand(image, { entrypoint: [], cmd: [] }), /no entry point or command/);
  });

  it('never takes a generic warm-pool pod', () => {
    assert.equal(poolShapeFor(spec, [{ memorySize: 256, ephemeralStorageSize: 512 }]), undefined);
  });

  it('reports an entry point that exited as Runtime.ExitError with its last lines, a missing image as ErrImagePull', () => {
    const exited = podFailure({
      ...pod,
      status: {
        containerStatuses: [
          {
            name: 'function',
            image: URI,
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode: 3, reason: 'Error', message: 'booting\nno handler here\n' } },
          },
        ],
      },
    });
    assert.equal(
      exited,
      'Runtime.ExitError: Runtime exited with error: exit status 3\nLog tail:\nbooting\nno handler here',
    );
    const missing = podFailure({
      ...pod,
      status: {
        containerStatuses: [
          {
            name: 'function',
            image: URI,
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: 'ErrImagePull', message: 'not found' } },
          },
        ],
      },
    });
    assert.equal(missing, 'ErrImagePull: not found');
  });

  it('runs $LATEST from the digest its tag was resolved to, and not before', () => {
    const latest = activeFunction('imgfn', {
      runtime: undefined,
      handler: undefined,
      code: undefined,
      image: { uri: 'registry.example.com/team/fn:v1' },
    });
    const status = { state: 'Active' as const, codeSha256: 'c'.repeat(64), codeSize: 0, revisionId: 'r1' };
    assert.equal(snapshotOfLatest({ ...latest, status }), undefined);
    const pinned = snapshotOfLatest({ ...latest, status: { ...status, resolvedImageUri: URI } });
    assert.deepEqual(pinned?.image, { uri: URI });
  });
});
