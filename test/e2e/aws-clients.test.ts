// AWS's own clients, unchanged, against the installed gateway (the Helm release's Service):
// the AWS SDK for JavaScript v3, boto3 and the AWS CLI, each with InvocationType
// RequestResponse / Event / DryRun and LogType Tail. Only the endpoint and dummy credentials
// differ from talking to AWS. Each client has its own Function with reserved concurrency 1,
// so one environment sees every event and a synchronous "seen" call can tell which ran.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { InvokeCommand, LambdaClient, TooManyRequestsException } from '@aws-sdk/client-lambda';
import { awsCliPath } from '../harness/awscli.js';
import { waitFor } from '../harness/gateway-kube.js';
import { repoRoot } from '../harness/manifests.js';
import {
  createFunction,
  functionArn,
  installedRelease,
  testNamespace,
  type Release,
} from '../harness/release.js';
import { pipTarget } from '../harness/third-party.js';

const run = promisify(execFile);
const BOTO3_VERSION = '1.44.8';
const CREDENTIALS = { accessKeyId: 'lamina', secretAccessKey: 'lamina' };

// Remembers the markers it handled (module state lives as long as the environment).
const RECORDER = `const seen = [];
export const handler = async (event, context) => {
  if (event.action === 'seen') return { seen };
  if (event.action === 'fail') throw new TypeError('asked to fail');
  seen.push(event.marker);
  console.log(\`handling \${event.marker}\`);
  return { marker: event.marker, requestId: context.awsRequestId };
};
`;

interface Outcome {
  statusCode: number;
  functionError?: string;
  logResult?: string;
  requestId?: string;
  payload: string;
}

/** Checks one client's four answers: RequestResponse+Tail, a function error, DryRun, Event. */
function assertOutcomes(
  marker: string,
  o: { sync: Outcome; error: Outcome; dryRun: Outcome; event: Outcome },
) {
  assert.equal(o.sync.statusCode, 200);
  assert.equal(o.sync.functionError ?? undefined, undefined, o.sync.payload);
  const body = JSON.parse(o.sync.payload) as { marker: string; requestId: string };
  assert.equal(body.marker, `${marker}-sync`);
  const tail = Buffer.from(o.sync.logResult ?? '', 'base64').toString('utf8');
  assert.match(tail, new RegExp(`^START RequestId: ${body.requestId} Version: \\$LATEST$`, 'm'));
  assert.match(tail, new RegExp(`\\tINFO\\thandling ${marker}-sync$`, 'm'));
  assert.match(tail, new RegExp(`^END RequestId: ${body.requestId}$`, 'm'));
  assert.match(tail, new RegExp(`^REPORT RequestId: ${body.requestId}\\tDuration: [\\d.]+ ms\\t`, 'm'));
  if (o.sync.requestId !== undefined) assert.equal(o.sync.requestId, body.requestId);

  assert.equal(o.error.statusCode, 200);
  assert.equal(o.error.functionError, 'Unhandled');
  const error = JSON.parse(o.error.payload) as { errorType: string; errorMessage: string };
  assert.equal(error.errorType, 'TypeError');
  assert.equal(error.errorMessage, 'asked to fail');

  assert.equal(o.dryRun.statusCode, 204);
  assert.equal(o.dryRun.payload, '');
  assert.equal(o.event.statusCode, 202);
  assert.equal(o.event.payload, '');
}

describe('AWS clients against the installed gateway', { timeout: 600_000 }, () => {
  let release: Release;
  let ns: Awaited<ReturnType<typeof testNamespace>>;
  let sdk: LambdaClient;
  const fn = (client: string) => functionArn(ns.name, `recorder-${client}`);

  /** What the client's function has handled, asked synchronously (a throttled ask is retried). */
  async function seenBy(client: string): Promise<string[]> {
    for (;;) {
      try {
        const out = await sdk.send(
          new InvokeCommand({ FunctionName: fn(client), Payload: Buffer.from('{"action":"seen"}') }),
        );
        return (JSON.parse(Buffer.from(out.Payload ?? []).toString()) as { seen: string[] }).seen;
      } catch (err) {
        if (!(err instanceof TooManyRequestsException)) throw err;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  /** Waits until the Event ran, then checks the DryRun never did. */
  async function assertEventRanAndDryRunDidNot(client: string, marker: string) {
    const seen = await waitFor(
      `the ${client} Event invoke to run`,
      async () => {
        const now = await seenBy(client);
        return now.includes(`${marker}-event`) ? now : undefined;
      },
      60_000,
      500,
    );
    assert.deepEqual(seen, [`${marker}-sync`, `${marker}-event`], 'the DryRun ran nothing');
  }

  before(async () => {
    release = await installedRelease();
    ns = await testNamespace(release, 'awsclients');
    sdk = new LambdaClient({
      endpoint: release.gatewayUrl,
      region: 'us-east-1',
      credentials: CREDENTIALS,
      maxAttempts: 1,
    });
    await Promise.all(
      ['sdk', 'boto3', 'cli'].map((client) =>
        createFunction(release, ns.name, `recorder-${client}`, RECORDER, { reservedConcurrentExecutions: 1 }),
      ),
    );
  });

  after(async () => {
    sdk?.destroy();
    await ns?.dispose();
  });

  it('AWS SDK for JavaScript v3: RequestResponse with Tail, a function error, DryRun 204, Event 202', async () => {
    const marker = `sdk-${randomBytes(4).toString('hex')}`;
    const invoke = async (
      event: unknown,
      options: Partial<ConstructorParameters<typeof InvokeCommand>[0]> = {},
    ) => {
      const out = await sdk.send(
        new InvokeCommand({
          FunctionName: fn('sdk'),
          Payload: Buffer.from(JSON.stringify(event)),
          ...options,
        }),
      );
      return {
        statusCode: out.StatusCode ?? 0,
        functionError: out.FunctionError,
        logResult: out.LogResult,
        requestId: out.$metadata.requestId,
        payload: Buffer.from(out.Payload ?? []).toString(),
      };
    };
    assertOutcomes(marker, {
      sync: await invoke({ marker: `${marker}-sync` }, { LogType: 'Tail' }),
      error: await invoke({ action: 'fail' }),
      dryRun: await invoke({ marker: `${marker}-dry-run` }, { InvocationType: 'DryRun' }),
      event: await invoke({ marker: `${marker}-event` }, { InvocationType: 'Event' }),
    });
    await assertEventRanAndDryRunDidNot('sdk', marker);
  });

  it('boto3: RequestResponse with Tail, a function error, DryRun 204, Event 202', async () => {
    const site = pipTarget('python3', [`boto3==${BOTO3_VERSION}`]);
    const marker = `boto3-${randomBytes(4).toString('hex')}`;
    const { stdout } = await run(
      'python3',
      [join(repoRoot, 'test/fixtures/aws-clients/boto3_invoke.py'), release.gatewayUrl, fn('boto3'), marker],
      {
        env: {
          ...process.env,
          PYTHONPATH: site,
          AWS_CONFIG_FILE: '/dev/null',
          AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        },
      },
    );
    assertOutcomes(marker, JSON.parse(stdout));
    await assertEventRanAndDryRunDidNot('boto3', marker);
  });

  it('AWS CLI: aws lambda invoke with Tail, a function error, DryRun 204, Event 202', async () => {
    const aws = await awsCliPath();
    const marker = `cli-${randomBytes(4).toString('hex')}`;
    const outDir = mkdtempSync(join(tmpdir(), 'lamina-awscli-'));
    let calls = 0;
    const invoke = async (event: unknown, ...options: string[]): Promise<Outcome> => {
      const outfile = join(outDir, `out-${(calls += 1)}`);
      const { stdout } = await run(
        aws,
        [
          'lambda',
          'invoke',
          '--endpoint-url',
          release.gatewayUrl,
          '--region',
          'us-east-1',
          '--function-name',
          fn('cli'),
          '--payload',
          JSON.stringify(event),
          ...options,
          outfile,
        ],
        {
          env: {
            ...process.env,
            AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
            AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
            AWS_CONFIG_FILE: '/dev/null',
            AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
            AWS_MAX_ATTEMPTS: '1',
          },
        },
      );
      const out = JSON.parse(stdout) as { StatusCode: number; FunctionError?: string; LogResult?: string };
      return {
        statusCode: out.StatusCode,
        functionError: out.FunctionError,
        logResult: out.LogResult,
        payload: readFileSync(outfile, 'utf8'),
      };
    };
    assertOutcomes(marker, {
      sync: await invoke({ marker: `${marker}-sync` }, '--log-type', 'Tail'),
      error: await invoke({ action: 'fail' }),
      dryRun: await invoke({ marker: `${marker}-dry-run` }, '--invocation-type', 'DryRun'),
      event: await invoke({ marker: `${marker}-event` }, '--invocation-type', 'Event'),
    });
    await assertEventRanAndDryRunDidNot('cli', marker);
  });
});
