// The chart's highly available shape: values-ha.yaml renders several gateway replicas on NATS
// JetStream run by the chart (a StatefulSet that passes Pod Security `restricted`) with a
// PodDisruptionBudget; an HPA on request; several replicas with the SQLite queue are refused.
// What it renders is accepted by a real API server in a namespace enforcing `restricted`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { kubectl } from '../../harness/kube.js';
import { CHART_DIR, helmBinary, helmTemplate, SINGLE_REPLICA_SETS } from '../../harness/chart.js';

const run = promisify(execFile);
const HA = join(CHART_DIR, 'values-ha.yaml');

interface Container {
  name: string;
  env?: { name: string; value?: string }[];
  securityContext?: Record<string, unknown>;
  readinessProbe?: { httpGet?: { path: string } };
  args?: string[];
}
interface Obj {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: {
    replicas?: number;
    maxUnavailable?: number;
    minAvailable?: number | string;
    minReplicas?: number;
    maxReplicas?: number;
    selector?: { matchLabels: Record<string, string> };
    scaleTargetRef?: { kind: string; name: string };
    template?: {
      metadata: { labels: Record<string, string> };
      spec: {
        securityContext?: Record<string, unknown>;
        containers: Container[];
        volumes?: { name: string; persistentVolumeClaim?: { claimName: string } }[];
      };
    };
  };
  data?: Record<string, string>;
}

describe('Helm chart: the highly available shape', () => {
  let helm: string;

  before(() => {
    helm = helmBinary();
  });

  const render = async (...args: string[]) => {
    const { stdout } = await helmTemplate(helm, ...args);
    const objects = parseAllDocuments(stdout)
      .map((doc) => doc.toJS() as Obj | null)
      .filter((o): o is Obj => o !== null);
    const find = (kind: string, name: string) =>
      objects.find((o) => o.kind === kind && o.metadata.name === name);
    return { stdout, objects, find };
  };
  const refusal = (...args: string[]) =>
    helmTemplate(helm, ...args).then(
      () => assert.fail(`rendered with ${args.join(' ')}`),
      (e: { stderr: string }) => e.stderr,
    );
  const env = (container: Container | undefined, name: string) =>
    container?.env?.find((e) => e.name === name)?.value;

  it('values-ha.yaml: 3 gateway replicas on the chart’s NATS JetStream, with a PodDisruptionBudget', async () => {
    const { find } = await render('-f', HA);
    const gateway = find('Deployment', 'lamina-gateway');
    assert.equal(gateway?.spec?.replicas, 3);
    const container = gateway?.spec?.template?.spec.containers.find((c) => c.name === 'gateway');
    assert.equal(env(container, 'LAMINA_ASYNC_BACKEND'), 'nats');
    assert.equal(env(container, 'LAMINA_ASYNC_NATS_URL'), 'nats://lamina-nats.lamina-system.svc:4222');
    assert.equal(env(container, 'LAMINA_ASYNC_SQLITE_PATH'), undefined);
    assert.equal(find('PersistentVolumeClaim', 'lamina-async'), undefined, 'no SQLite claim');

    const nats = find('StatefulSet', 'lamina-nats');
    assert.equal(nats?.spec?.replicas, 1);
    assert.deepEqual(
      nats?.spec?.template?.spec.volumes?.find((v) => v.name === 'data')?.persistentVolumeClaim,
      { claimName: 'lamina-nats' },
    );
    assert.ok(find('PersistentVolumeClaim', 'lamina-nats'));
    const service = find('Service', 'lamina-nats');
    assert.deepEqual(service?.spec?.selector, nats?.spec?.selector?.matchLabels);
    const config = find('ConfigMap', 'lamina-nats')?.data?.['nats.conf'] ?? '';
    assert.match(config, /jetstream \{[^}]*store_dir: \/data/s);
    assert.match(config, /max_payload: 8MB/, 'room for 1 MB async payloads and the envelope');

    const pdb = find('PodDisruptionBudget', 'lamina-gateway');
    assert.equal(pdb?.spec?.maxUnavailable, 1);
    assert.deepEqual(pdb?.spec?.selector?.matchLabels, gateway?.spec?.selector?.matchLabels);
    assert.equal(find('HorizontalPodAutoscaler', 'lamina-gateway'), undefined, 'no HPA unless asked');
  });

  it('runs nats-server as non-root with the restricted security context, JetStream in its readiness', async () => {
    const { find } = await render('--set', 'nats.enabled=true');
    const pod = find('StatefulSet', 'lamina-nats')?.spec?.template?.spec;
    assert.equal(pod?.securityContext?.runAsNonRoot, true);
    assert.notEqual(pod?.securityContext?.runAsUser, 0);
    assert.deepEqual(pod?.securityContext?.seccompProfile, { type: 'RuntimeDefault' });
    const container = pod?.containers[0];
    assert.equal(container?.securityContext?.allowPrivilegeEscalation, false);
    assert.equal(container?.securityContext?.readOnlyRootFilesystem, true);
    assert.deepEqual(container?.securityContext?.capabilities, { drop: ['ALL'] });
    assert.equal(container?.readinessProbe?.httpGet?.path, '/healthz?js-enabled-only=true');
  });

  it('admits only the gateway to the NATS client port when network policies are on', async () => {
    const { find } = await render('-f', HA);
    const policy = find('NetworkPolicy', 'lamina-nats') as unknown as {
      spec: {
        ingress: {
          from?: { podSelector: { matchLabels: Record<string, string> } }[];
          ports: { port: number }[];
        }[];
      };
    };
    const client = policy.spec.ingress.find((rule) => rule.ports.some((p) => p.port === 4222));
    assert.deepEqual(
      client?.from?.map((f) => f.podSelector.matchLabels['app.kubernetes.io/component']),
      ['gateway'],
    );
    const off = await render('-f', HA, '--set', 'networkPolicy.enabled=false');
    assert.equal(off.find('NetworkPolicy', 'lamina-nats'), undefined);
  });

  it('refuses several gateway replicas with the SQLite queue, pointing at values-ha.yaml', async () => {
    const sqlite = ['--set', 'async.backend=sqlite', '--set', 'nats.enabled=false'];
    for (const args of [
      [...sqlite, '--set', 'gateway.replicas=3'],
      [...sqlite, '--set', 'gateway.replicas=1', '--set', 'gateway.autoscaling.enabled=true'],
      ['-f', HA, '--set', 'async.backend=sqlite'],
    ]) {
      assert.match(
        await refusal(...args),
        /gateway\.replicas > 1 .*needs async\.backend=nats.*values-ha\.yaml/s,
      );
    }
  });

  it('refuses async.backend=nats with no server to use', async () => {
    assert.match(
      await refusal('--set', 'async.backend=nats', '--set', 'nats.enabled=false'),
      /set nats\.enabled=true .* or async\.natsUrl/,
    );
  });

  it('uses an existing NATS at async.natsUrl instead of running one', async () => {
    const { find } = await render(
      '--set',
      'async.backend=nats',
      '--set',
      'nats.enabled=false',
      '--set',
      'async.natsUrl=nats://nats.messaging:4222',
    );
    const container = find('Deployment', 'lamina-gateway')?.spec?.template?.spec.containers.find(
      (c) => c.name === 'gateway',
    );
    assert.equal(env(container, 'LAMINA_ASYNC_NATS_URL'), 'nats://nats.messaging:4222');
    assert.equal(find('StatefulSet', 'lamina-nats'), undefined);
  });

  it('renders two sharded replicas on the chart’s NATS with a PodDisruptionBudget by default; the local shape (one replica, SQLite) none of that', async () => {
    const defaults = await render();
    assert.equal(defaults.find('Deployment', 'lamina-gateway')?.spec?.replicas, 2);
    assert.ok(defaults.find('StatefulSet', 'lamina-nats'));
    assert.ok(defaults.find('PodDisruptionBudget', 'lamina-gateway'));
    assert.equal(defaults.objects.filter((o) => o.kind === 'HorizontalPodAutoscaler').length, 0);
    const local = await render(...SINGLE_REPLICA_SETS);
    for (const kind of ['StatefulSet', 'PodDisruptionBudget', 'HorizontalPodAutoscaler']) {
      assert.equal(local.objects.filter((o) => o.kind === kind).length, 0, kind);
    }
    const single = await render('-f', HA, '--set', 'gateway.replicas=1');
    assert.equal(single.find('PodDisruptionBudget', 'lamina-gateway'), undefined);
    assert.ok(single.find('StatefulSet', 'lamina-nats'));
  });

  it('hands the replica count to an HPA on gateway CPU when autoscaling is on', async () => {
    const { find } = await render(
      '-f',
      HA,
      '--set',
      'gateway.autoscaling.enabled=true',
      '--set',
      'gateway.autoscaling.minReplicas=2',
      '--set',
      'gateway.autoscaling.maxReplicas=5',
      '--set',
      'gateway.podDisruptionBudget.minAvailable=1',
    );
    const hpa = find('HorizontalPodAutoscaler', 'lamina-gateway');
    assert.deepEqual(hpa?.spec?.scaleTargetRef, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'lamina-gateway',
    });
    assert.equal(hpa?.spec?.minReplicas, 2);
    assert.equal(hpa?.spec?.maxReplicas, 5);
    assert.equal(find('Deployment', 'lamina-gateway')?.spec?.replicas, undefined, 'the HPA owns the count');
    const pdb = find('PodDisruptionBudget', 'lamina-gateway');
    assert.equal(pdb?.spec?.minAvailable, 1);
    assert.equal(pdb?.spec?.maxUnavailable, undefined);
  });

  it('renders the same NATS from the values of a chart that predates them (helm upgrade --reuse-values)', async () => {
    // --reuse-values renders with the installed chart's defaults: an install older than the
    // NATS values has none of them, and the templates fall back to values.yaml's defaults.
    const old = join(mkdtempSync(join(tmpdir(), 'lamina-old-chart-')), 'lamina');
    cpSync(CHART_DIR, old, { recursive: true });
    const values = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as {
      nats?: unknown;
      images: Record<string, unknown>;
      gateway: Record<string, unknown>;
    };
    delete values.nats;
    delete values.images.nats;
    delete values.images.natsRevision;
    delete values.gateway.podDisruptionBudget;
    delete values.gateway.autoscaling;
    writeFileSync(join(old, 'values.yaml'), stringify(values));
    const renderFrom = async (dir: string) => {
      const { stdout } = await run(
        helm,
        [
          'template',
          'lamina',
          dir,
          '--namespace',
          'lamina-system',
          '-f',
          HA,
          '--set',
          'gateway.autoscaling.enabled=true',
        ],
        { maxBuffer: 16 << 20 },
      );
      return parseAllDocuments(stdout)
        .map((doc) => doc.toJS() as Obj | null)
        .filter((o): o is Obj => o !== null && ['lamina-nats', 'lamina-gateway'].includes(o.metadata.name))
        .filter((o) => o.kind !== 'Secret' && o.kind !== 'ServiceAccount' && o.kind !== 'Deployment')
        .map((o) => ({ ...o, metadata: { ...o.metadata, labels: undefined } }));
    };
    const [current, older] = await Promise.all([renderFrom(CHART_DIR), renderFrom(old)]);
    assert.ok(current.some((o) => o.kind === 'StatefulSet'));
    assert.deepEqual(older, current);
  });

  it('renders only objects the API server accepts, in a namespace enforcing restricted', async () => {
    const { objects } = await render(
      '-f',
      HA,
      '--namespace',
      'lamina-ha-chart',
      '--set',
      'gateway.autoscaling.enabled=true',
    );
    // The function namespaces' policies name their own namespace: only the release's objects.
    const items = objects.filter((o) => (o.metadata as { namespace?: string }).namespace === undefined);
    const dir = mkdtempSync(join(tmpdir(), 'lamina-ha-chart-'));
    writeFileSync(join(dir, 'rendered.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    await kubectl('create', 'namespace', 'lamina-ha-chart').catch(() => undefined);
    await kubectl(
      'label',
      '--overwrite',
      'namespace',
      'lamina-ha-chart',
      'pod-security.kubernetes.io/enforce=restricted',
      'pod-security.kubernetes.io/warn=restricted',
    );
    const { stdout: applied, stderr } = await kubectl(
      'apply',
      '--dry-run=server',
      '-n',
      'lamina-ha-chart',
      '-f',
      join(dir, 'rendered.json'),
    );
    assert.match(applied, /statefulset.apps\/lamina-nats created \(server dry run\)/);
    assert.match(applied, /poddisruptionbudget.policy\/lamina-gateway created \(server dry run\)/);
    assert.match(applied, /horizontalpodautoscaler.autoscaling\/lamina-gateway created \(server dry run\)/);
    assert.doesNotMatch(stderr, /violate/i, stderr);
  });
});
