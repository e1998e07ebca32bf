// The README's walkthrough and its AWS CLI section, executed command for command against
// Lamina installed on the local cluster (`npm run up`, which scripts/test.mjs runs before the
// e2e tier). If the README and the product drift apart, this fails.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { awsCliPath } from '../harness/awscli.js';
import { ensureEventServers } from '../harness/event-servers.js';
import { kubectl, kubectlPath } from '../harness/kube.js';
import { repoRoot } from '../harness/manifests.js';
import { walkthroughSteps } from '../harness/readme.js';
import { ensureDebianPackages } from '../harness/third-party.js';

const run = promisify(execFile);

/**
 * What each walkthrough step must print, keyed by a fragment of its script: the documented
 * result, not merely the absence of an error. Every shell step must have an entry.
 */
const EXPECTED: Array<{ script: string; check: (stdout: string) => void; apiError?: true }> = [
  {
    script: 'kubectl get fn hello',
    check: (out) => assert.match(out, /^hello\s+nodejs20\.x\s+.*Active/m),
  },
  {
    script: '/functions/hello/invocations" -d \'{"name":"Lamina"}\'',
    check: (out) => {
      assert.match(out, /\{"hello":"Lamina"\}/);
      assert.match(out, /"StatusCode": 200/);
      assert.match(out, /\{"hello":"CLI"\}/);
      assert.match(out, /\{"hello":"world"\}\s*$/);
    },
  },
  { script: 'X-Amz-Invocation-Type: Event', check: (out) => assert.equal(out.trim(), '202') },
  {
    script: 'lambda-url/default/streamer',
    check: (out) => {
      // Each chunk is received after it was written and before the next one was (the handler
      // writes every 500 ms): the response is streamed, not buffered until the end.
      const lines = [...out.matchAll(/^received (\S+): chunk (\d) at \S+T(\S+)Z$/gm)];
      assert.deepEqual(
        lines.map((l) => l[2]),
        ['1', '2', '3'],
        out,
      );
      const ms = (t: string) => Date.parse(`1970-01-01T${t}Z`);
      for (let i = 0; i + 1 < lines.length; i++) {
        assert.ok(
          ms(lines[i]![1]!) < ms(lines[i + 1]![3]!),
          `chunk ${i + 1} arrived after chunk ${i + 2} was written: ${out}`,
        );
      }
    },
  },
  {
    script: 'version/hello-1',
    check: (out) => {
      assert.match(out, /^hello-1\s+hello\s+1\b/m);
      assert.match(out, /\{"hello":"world"\}\s*$/);
    },
  },
  {
    script: 'additionalVersionWeights',
    check: (out) => {
      // 200 invokes with 10 % on version 2: the count of 2s is Binomial(200, 0.1) (mean 20,
      // sd 4.2); outside [4, 40] happens with probability below 1e-4 for a correct split.
      const counts = Object.fromEntries(
        [...out.matchAll(/^\s*(\d+) x-amz-executed-version: (\d+)$/gim)].map(([, n, v]) => [v, Number(n)]),
      );
      assert.equal((counts['1'] ?? 0) + (counts['2'] ?? 0), 200, out);
      assert.ok(counts['2']! >= 4 && counts['2']! <= 40, `version 2 ran ${counts['2']} of 200: ${out}`);
    },
  },
  {
    script: 'examples/shared-code-layer/layer.yaml',
    check: (out) =>
      assert.match(out, /"message": "Hello from test2, a module in a shared layer", "loud": "LAYERS WORK!"/),
  },
  {
    script: 'examples/extension-layer/layer.yaml',
    check: (out) => {
      // The second invoke lists the first one's request id: the extension had recorded it
      // before the first invoke ended.
      const answers = [
        ...out.matchAll(/^\{"requestId": "([0-9a-f-]{36})", "seenByExtension": (\[.*\])\}$/gm),
      ];
      assert.equal(answers.length, 2, out);
      assert.deepEqual(JSON.parse(answers[1]![2]!), [answers[0]![1]]);
      assert.match(out, /^\[invoke-recorder\] registered and subscribed$/m);
      assert.match(out, new RegExp(`^\\[invoke-recorder\\] report ${answers[0]![1]} [\\d.]+ ms$`, 'm'));
    },
  },
  {
    script: 'reservedConcurrentExecutions":0',
    apiError: true,
    check: (out) => {
      assert.match(
        out,
        /"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","__type":"TooManyRequestsException"/,
      );
      assert.match(out, /^429$/m);
    },
  },
  {
    script: 'aws lambda create-function --endpoint-url',
    check: (out) => {
      assert.match(out, /^Pending$/m);
      assert.match(out, /^200$/m);
      assert.match(out, /\{"greeting": "hello CLI", "release": 1\}\s*$/);
    },
  },
  {
    script: 'aws lambda update-function-code --endpoint-url',
    check: (out) => {
      assert.match(out, /^InProgress$/m);
      assert.match(out, /^1$/m);
      assert.match(out, /^arn:aws:lambda:us-east-1:default:function:greet:live$/m);
      assert.match(out, /^greet\s+python3\.13\s+.*Active/m);
    },
  },
  {
    script: 'aws lambda delete-function --endpoint-url',
    check: (out) =>
      assert.match(
        out,
        /An error occurred \(ResourceNotFoundException\) when calling the GetFunction operation/,
      ),
  },
  {
    script: 'examples/scheduled-report/',
    check: (out) => {
      assert.match(out, /^every-minute\s+report\s+schedule rate\(1 minute\)\s+Enabled/m);
      // One delivery of one tick, on the minute, with EventBridge's event type.
      // The Node.js runtime's console line: time, request id, level, then what the handler logged.
      const ticks = [...out.matchAll(/\tINFO\t\{"detail-type":"Scheduled Event","time":"(\S+)"\}$/gm)];
      assert.ok(ticks.length >= 1, out);
      assert.equal(Date.parse(ticks[0]![1]!) % 60_000, 0, out);
      assert.equal(new Set(ticks.map((t) => t[1])).size, ticks.length, `a tick delivered twice: ${out}`);
    },
  },
  {
    script: 'examples/queue-consumer/',
    check: (out) => {
      // Both Kafka records (<topic>-<partition>@<offset> value), the SQS message (id body) and
      // the NATS message (<stream>#<sequence> data).
      const kafka = [...out.matchAll(/^orders-\d+@\d+ (kafka-order-\d)$/gm)].map((m) => m[1]);
      assert.deepEqual([...new Set(kafka)].sort(), ['kafka-order-1', 'kafka-order-2'], out);
      assert.match(out, /^[0-9a-f-]{36} sqs-order-1$/m);
      assert.match(out, /^orders#\d+ nats-order-1$/m);
    },
  },
  {
    script: 'bash examples/java-hello/build.sh',
    check: (out) => {
      const hello = /^\{"message":"Hello, Ada!".*\}$/m.exec(out)?.[0];
      assert.ok(hello, out);
      const answer = JSON.parse(hello) as Record<string, unknown>;
      assert.equal(answer.java, '21');
      assert.equal(answer.method, 'GET');
      assert.equal(answer.function, 'java-hello');
      assert.match(out, /^"SHOUT"$/m);
    },
  },
  {
    script: 'bash examples/image-function/build.sh',
    check: (out) => {
      const answer = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;
      assert.equal(answer.message, 'Hello, Ada, from a container image!');
      assert.equal(answer.functionName, 'image-hello');
    },
  },
  {
    script: 'kubectl logs -l lamina.dev/function=hello',
    check: (out) => {
      assert.match(out, /^START RequestId: [0-9a-f-]{36} Version: (\$LATEST|\d+)$/m);
      assert.match(out, /^END RequestId: [0-9a-f-]{36}$/m);
      assert.match(out, /^REPORT RequestId: [0-9a-f-]{36}\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms/m);
    },
  },
];

/**
 * The README sections run in order; the second deploys with the AWS CLI instead of kubectl; the
 * third builds the Java example with Maven and runs it on java21; the fourth builds an image,
 * pushes it to the cluster's registry and runs it.
 */
const SECTIONS = [
  'Walkthrough',
  'Deploy with the AWS CLI / Terraform',
  'Runtimes',
  'Container-image functions',
];

describe('README walkthrough', () => {
  const workdir = mkdtempSync(join(tmpdir(), 'lamina-readme-'));
  let env: NodeJS.ProcessEnv;

  before(async () => {
    assert.ok(process.env.LAMINA_GATEWAY, 'LAMINA_GATEWAY must be set (npm run up prints it)');
    symlinkSync(join(repoRoot, 'examples'), join(workdir, 'examples'));
    const tools = [dirname(kubectlPath()), dirname(await awsCliPath())];
    // The Runtimes section builds examples/java-hello with the JDK and Maven it asks for.
    ensureDebianPackages(['default-jdk-headless', 'maven']);
    // The event servers that `npm run up -- --with kafka,sqs,nats` runs, for the queue-consumer step.
    const servers = await ensureEventServers(['kafka', 'sqs', 'nats']);
    env = {
      ...process.env,
      PATH: `${tools.join(':')}:${process.env.PATH}`,
      AWS_ACCESS_KEY_ID: 'lamina',
      AWS_SECRET_ACCESS_KEY: 'lamina',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_PAGER: '',
      SQS_ENDPOINT: servers.sqsEndpoint,
      NATS_URL: servers.natsUrl,
    };
  });

  after(async () => {
    for (const object of [
      'alias/hello-live',
      'version/hello-1',
      'function/hello',
      'function/uses-shared-code',
      'function/with-extension',
      'layer/invoke-recorder',
      'function/streamer',
      'function/greet',
      'function/image-hello',
      'function/java-hello',
      'function/java-upper',
      'function/java-fail',
    ]) {
      await kubectl('delete', '--ignore-not-found', '--wait=false', object).catch(() => undefined);
    }
  });

  const steps = SECTIONS.flatMap((section) =>
    walkthroughSteps(section).map((step, index) => ({
      step,
      label:
        step.kind === 'shell' && step.heading !== section
          ? `${section} step ${index + 1} (${step.heading})`
          : `${section} step ${index + 1}`,
    })),
  );
  for (const { step, label } of steps) {
    if (step.kind === 'file') {
      it(`writes ${step.name}`, () => writeFileSync(join(workdir, step.name), step.content));
      continue;
    }
    it(`runs ${label}: ${step.script.split('\n')[0]}`, async () => {
      const { stdout, stderr } = await run('bash', ['-euo', 'pipefail', '-c', step.script], {
        cwd: workdir,
        env,
        timeout: 180_000,
      }).catch((error: { stdout?: string; stderr?: string; message: string }) => {
        assert.fail(`step failed: ${error.message}\nstdout: ${error.stdout}\nstderr: ${error.stderr}`);
      });
      // Every invoke in the walkthrough must answer with a function result, not a function
      // error (errorType) or an API error (__type), and print what the README says it does.
      const expected = EXPECTED.filter((e) => step.script.includes(e.script));
      assert.equal(expected.length, 1, `one expectation for this step: ${step.script}`);
      if (!expected[0]!.apiError) {
        assert.doesNotMatch(stdout, /"(errorType|__type)":/, `stdout: ${stdout}\nstderr: ${stderr}`);
      }
      expected[0]!.check(stdout);
    });
  }
});
