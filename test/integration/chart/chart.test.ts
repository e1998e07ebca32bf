// The Helm chart: lints, renders with its defaults, refuses invalid values through
// values.schema.json, and everything it renders is accepted by a real API server.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { kubectl } from '../../harness/kube.js';
import { CHART_DIR, helmBinary, helmTemplate, SINGLE_REPLICA_SETS } from '../../harness/chart.js';

const run = promisify(execFile);

describe('Helm chart', () => {
  let helm: string;

  before(() => {
    helm = helmBinary();
  });

  const template = (...args: string[]) => helmTemplate(helm, ...args);

  it('passes helm lint', async () => {
    const { stdout } = await run(helm, ['lint', CHART_DIR, '--strict']);
    assert.match(stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('renders the operator, gateway, store, RBAC and services from the defaults', async () => {
    const { stdout } = await template();
    const kinds = parseAllDocuments(stdout)
      .map((doc) => doc.toJS() as { kind: string; metadata: { name: string } } | null)
      .filter((o) => o !== null)
      .map((o) => `${o.kind}/${o.metadata.name}`);
    for (const expected of [
      'Deployment/lamina-operator',
      'Deployment/lamina-gateway',
      'Service/lamina-gateway',
      'Service/lamina-store',
      'PersistentVolumeClaim/lamina-store',
      'ClusterRole/lamina-operator',
      'ClusterRole/lamina-gateway',
    ]) {
      assert.ok(kinds.includes(expected), `${expected} missing from ${kinds.join(', ')}`);
    }
  });

  it("gives the operator, gateway and NATS a PriorityClass above the environments' (none when disabled)", async () => {
    const pods = async (...args: string[]) => {
      interface Rendered {
        kind: string;
        metadata: { name: string };
        value?: number;
        globalDefault?: boolean;
        spec?: { template: { spec: { priorityClassName?: string } } };
      }
      const docs = parseAllDocuments((await template(...args)).stdout)
        .map((doc) => doc.toJS() as Rendered | null)
        .filter((o) => o !== null);
      const classes = docs.filter((o) => o.kind === 'PriorityClass');
      const specs = Object.fromEntries(
        docs
          .filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')
          .map((o) => [o.metadata.name, o.spec?.template.spec.priorityClassName]),
      );
      return { classes, specs };
    };
    const { classes, specs } = await pods('--set', 'async.backend=nats', '--set', 'nats.enabled=true');
    assert.equal(classes.length, 1);
    const name = classes[0]!.metadata.name;
    assert.equal(classes[0]!.value, 1000000);
    assert.equal(classes[0]!.globalDefault, false);
    assert.deepEqual(specs, { 'lamina-operator': name, 'lamina-gateway': name, 'lamina-nats': name });

    const existing = await pods('--set', 'priorityClass.create=false', '--set', 'priorityClass.name=ours');
    assert.equal(existing.classes.length, 0);
    assert.equal(existing.specs['lamina-gateway'], 'ours');

    const none = await pods('--set', 'priorityClass.enabled=false');
    assert.equal(none.classes.length, 0);
    assert.ok(Object.keys(none.specs).length >= 2);
    assert.ok(Object.values(none.specs).every((c) => c === undefined));
  });

  it('carries the scaling rules into the gateway configuration', async () => {
    const { stdout } = await template(
      '--set',
      'scaling.burst=7',
      '--set',
      'scaling.rate=2',
      '--set',
      'scaling.intervalSeconds=6',
    );
    assert.match(stdout, /name: LAMINA_SCALING_BURST, value: "7"/);
    assert.match(stdout, /name: LAMINA_SCALING_RATE, value: "2"/);
    assert.match(stdout, /name: LAMINA_SCALING_INTERVAL_MS, value: "6000"/);
  });

  it('configures tracing only when an OTLP endpoint is set, with its headers (or their Secret) and sampling ratio', async () => {
    assert.doesNotMatch((await template()).stdout, /LAMINA_TRACING_/);
    const { stdout } = await template(
      '--set',
      'tracing.otlpEndpoint=http://otel-collector.observability:4318',
      '--set',
      'tracing.headers.x-scope-orgid=team-a',
      '--set',
      'tracing.samplingRatio=0.25',
    );
    assert.match(
      stdout,
      /name: LAMINA_TRACING_OTLP_ENDPOINT, value: "http:\/\/otel-collector\.observability:4318"/,
    );
    assert.match(stdout, /name: LAMINA_TRACING_OTLP_HEADERS, value: "x-scope-orgid=team-a"/);
    assert.match(stdout, /name: LAMINA_TRACING_SAMPLING_RATIO, value: "0.25"/);
    const secret = await template(
      '--set',
      'tracing.otlpEndpoint=https://otlp.example',
      '--set',
      'tracing.headersSecret.name=otlp-auth',
    );
    assert.match(
      secret.stdout,
      /name: LAMINA_TRACING_OTLP_HEADERS\n\s+valueFrom: \{ secretKeyRef: \{ name: "otlp-auth", key: "headers" \} \}/,
    );
    await assert.rejects(template('--set', 'tracing.otlpEndpoint=collector:4318'), /tracing\/otlpEndpoint/);
    await assert.rejects(
      template('--set', 'tracing.otlpEndpoint=http://c:4318', '--set', 'tracing.samplingRatio=2'),
      /tracing\/samplingRatio/,
    );
  });

  it('writes byte limits as plain integers and gives each gateway replica its own pool (by pod name)', async () => {
    const { stdout } = await template();
    assert.match(stdout, /name: LAMINA_SYNC_PAYLOAD_LIMIT_BYTES, value: "6291456"/);
    assert.match(stdout, /name: LAMINA_ASYNC_PAYLOAD_LIMIT_BYTES, value: "1048576"/);
    assert.match(stdout, /name: LAMINA_MAX_UNZIPPED_BYTES, value: "262144000"/);
    assert.doesNotMatch(stdout, /value: "\d(\.\d+)?e\+\d+"/, 'no number in exponent notation');
    // Sharded replicas (the chart's default of two) keep a pool each; one replica's pool owner
    // survives its restarts.
    assert.match(
      stdout,
      /name: LAMINA_POOL_OWNER\n\s+valueFrom: \{ fieldRef: \{ fieldPath: metadata\.name \} \}/,
    );
    const single = await template(...SINGLE_REPLICA_SETS);
    assert.match(single.stdout, /name: LAMINA_POOL_OWNER, value: "lamina\.lamina-system"/);
  });

  it('is secure by default: invoke, control plane and store check Kubernetes identity', async () => {
    const { stdout } = await template();
    assert.match(stdout, /name: LAMINA_INVOKE_AUTH, value: "kubernetes"/);
    assert.match(stdout, /name: LAMINA_STORE_AUTH, value: "kubernetes"/);
    assert.doesNotMatch(stdout, /LAMINA_SIGV4/);
    assert.doesNotMatch(stdout, /lamina-gateway-access-keys/);
  });

  it('opts out only when told (the values npm run up passes)', async () => {
    const { stdout } = await template('--set', 'auth.invoke=none', '--set', 'auth.store=none');
    assert.match(stdout, /name: LAMINA_INVOKE_AUTH, value: "none"/);
    assert.match(stdout, /name: LAMINA_STORE_AUTH, value: "none"/);
  });

  it('turns SigV4 on with a Role to read Secrets in the release namespace only', async () => {
    const { stdout } = await template('--set', 'auth.sigv4.enabled=true');
    assert.match(stdout, /name: LAMINA_SIGV4, value: 'true'/);
    assert.match(stdout, /name: LAMINA_ACCESS_KEYS_NAMESPACE, value: "lamina-system"/);
    const role = parseAllDocuments(stdout)
      .map(
        (doc) =>
          doc.toJS() as { kind: string; metadata: { name: string; namespace?: string }; rules?: unknown },
      )
      .find((o) => o?.kind === 'Role' && o.metadata.name === 'lamina-gateway-access-keys');
    assert.deepEqual(role?.metadata.namespace, 'lamina-system');
    assert.deepEqual(role?.rules, [{ apiGroups: [''], resources: ['secrets'], verbs: ['list', 'watch'] }]);
    const refused = await template('--set', 'auth.sigv4.enabled=true', '--set', 'auth.invoke=none').then(
      () => assert.fail('SigV4 without invoke auth was rendered'),
      (e: { stderr: string }) => e.stderr,
    );
    assert.match(refused, /auth.sigv4.enabled needs auth.invoke=kubernetes/);
  });

  it('refuses invalid values with the field named', async () => {
    const values = join(mkdtempSync(join(tmpdir(), 'lamina-values-')), 'bad.yaml');
    writeFileSync(values, 'concurrency:\n  namespaceLimit: 0\n  unreservedMinimum: 100\n');
    const error = await template('-f', values).then(
      () => assert.fail('invalid values were accepted'),
      (e: { stderr: string }) => e.stderr,
    );
    assert.match(error, /concurrency.*namespaceLimit/s);
  });

  it('renders only objects the API server accepts (server-side dry run)', async () => {
    const { stdout } = await template('--include-crds');
    const file = join(mkdtempSync(join(tmpdir(), 'lamina-chart-')), 'rendered.yaml');
    writeFileSync(file, stdout);
    await kubectl('create', 'namespace', 'lamina-system').catch(() => undefined);
    const { stdout: applied } = await kubectl('apply', '--dry-run=server', '-f', file);
    assert.match(applied, /deployment.apps\/lamina-gateway created \(server dry run\)/);
  });
});
