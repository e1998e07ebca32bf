// AWS's own Lambda clients — the AWS CLI, boto3 and the AWS SDK for JavaScript v3 — behind one
// small interface, so a test can drive the same control-plane life cycle with each of them.
// Calls take Lambda's request shapes (PascalCase, as in the API reference); each driver turns
// them into its client's own form (CLI flags, boto3 keyword arguments, SDK commands) and
// returns the answer as JSON, with a failed call as a ClientError carrying Lambda's error code.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as sdk from '@aws-sdk/client-lambda';
import { awsCliPath } from './awscli.js';
import { repoRoot } from './manifests.js';
import { pipTarget } from './third-party.js';

const run = promisify(execFile);
const BOTO3_VERSION = '1.44.8';
const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'lamina', secretAccessKey: 'lamina' };

/** A zip file argument (ZipFile, Content.ZipFile): the client reads and sends its bytes. */
export class ZipFile {
  constructor(readonly path: string) {}
}

/** Lambda's error as the client reported it (the CLI does not say the HTTP status). */
export class ClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
  ) {
    super(`${code}: ${message}`);
  }
}

export type Answer = Record<string, unknown>;
export type Waiter = 'FunctionActiveV2' | 'FunctionUpdatedV2';

export interface LambdaDriver {
  readonly client: 'aws-cli' | 'boto3' | 'sdk-js-v3';
  /** One API call. Invoke takes Payload as a string and answers Payload as a string. */
  call(operation: string, params: Answer): Promise<Answer>;
  wait(waiter: Waiter, functionName: string): Promise<void>;
  /**
   * Every item of a list operation, asked one item per page; `pages` is how many pages the
   * client fetched where it says so (the CLI merges pages itself).
   */
  listAll(operation: string, params: Answer, key: string): Promise<{ items: Answer[]; pages?: number }>;
  close(): void;
}

const kebab = (name: string) => name.replace(/(?<!^)([A-Z])/g, '-$1').toLowerCase();

const isolatedEnv = () => ({
  ...process.env,
  AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  AWS_MAX_ATTEMPTS: '1',
  AWS_PAGER: '',
});

type Failed = { stdout?: string; stderr?: string; message: string };

/** The AWS CLI (v1): each parameter becomes its flag; blobs go as fileb:// paths. */
export async function awsCliDriver(endpoint: string): Promise<LambdaDriver> {
  const aws = await awsCliPath();
  const scratch = mkdtempSync(join(tmpdir(), 'lamina-cli-'));
  let files = 0;
  const flags = (params: Answer): string[] =>
    Object.entries(params).flatMap(([key, value]) => {
      const flag = `--${kebab(key)}`;
      if (value instanceof ZipFile) return ['--zip-file', `fileb://${value.path}`];
      // Code.ZipFile (CreateFunction) and Content.ZipFile (PublishLayerVersion) have the shortcut.
      const nested = (value as { ZipFile?: unknown } | null)?.ZipFile;
      if (nested instanceof ZipFile) return ['--zip-file', `fileb://${nested.path}`];
      if (key === 'Payload') {
        const file = join(scratch, `payload-${(files += 1)}.json`);
        writeFileSync(file, String(value));
        return ['--payload', `fileb://${file}`];
      }
      if (typeof value === 'boolean') return [value ? flag : `--no-${kebab(key)}`];
      if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return [flag, ...value];
      if (typeof value === 'object' && value !== null) return [flag, JSON.stringify(value)];
      return [flag, String(value)];
    });
  const aws$ = async (args: string[]): Promise<string> => {
    const { stdout } = await run(
      aws,
      ['lambda', ...args, '--endpoint-url', endpoint, '--region', REGION, '--output', 'json'],
      { env: isolatedEnv(), maxBuffer: 16 << 20 },
    ).catch((err: Failed) => {
      const stated = /An error occurred \((\w+)\)[^:]*: (.*)/s.exec(err.stderr ?? '');
      if (stated) throw new ClientError(stated[1]!, stated[2]!.trim());
      throw new Error(`aws lambda ${args.join(' ')} failed: ${err.message}\n${err.stderr}`);
    });
    return stdout;
  };
  return {
    client: 'aws-cli',
    async call(operation, params) {
      if (operation === 'Invoke') {
        const outfile = join(scratch, `out-${(files += 1)}`);
        const answer = JSON.parse(await aws$(['invoke', ...flags(params), outfile])) as Answer;
        return { ...answer, Payload: readFileSync(outfile, 'utf8') };
      }
      const out = await aws$([kebab(operation), ...flags(params)]);
      return out.trim() === '' ? {} : (JSON.parse(out) as Answer);
    },
    async wait(waiter, functionName) {
      await aws$(['wait', kebab(waiter), '--function-name', functionName]);
    },
    async listAll(operation, params, key) {
      const out = JSON.parse(await aws$([kebab(operation), ...flags(params), '--page-size', '1'])) as Answer;
      return { items: out[key] as Answer[] };
    },
    close() {},
  };
}

/** boto3, one process per call (test/fixtures/aws-clients/boto3_lambda.py). */
export function boto3Driver(endpoint: string): LambdaDriver {
  const site = pipTarget('python3', [`boto3==${BOTO3_VERSION}`]);
  const script = join(repoRoot, 'test/fixtures/aws-clients/boto3_lambda.py');
  const withFiles = (value: unknown): unknown => {
    if (value instanceof ZipFile) return { __file__: value.path };
    if (Array.isArray(value)) return value.map(withFiles);
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withFiles(v)]));
    }
    return value;
  };
  const python = async (mode: string, operation: string, params: Answer): Promise<Answer> => {
    const args = [script, endpoint, mode, operation, JSON.stringify(withFiles(params))];
    const env = { ...isolatedEnv(), PYTHONPATH: site };
    const { stdout } = await run('python3', args, { env, maxBuffer: 16 << 20 }).catch((err: Failed) => {
      if (err.stdout && err.stdout.startsWith('{"Error"')) {
        const failed = JSON.parse(err.stdout) as {
          Error: { Code: string; Message: string };
          HTTPStatusCode: number;
        };
        throw new ClientError(failed.Error.Code, failed.Error.Message, failed.HTTPStatusCode);
      }
      throw new Error(`boto3 ${mode} ${operation} failed: ${err.message}\n${err.stderr}`);
    });
    return JSON.parse(stdout) as Answer;
  };
  return {
    client: 'boto3',
    call: (operation, params) => python('call', operation, params),
    async wait(waiter, functionName) {
      await python('wait', waiter, { FunctionName: functionName });
    },
    async listAll(operation, params, key) {
      const { Pages } = (await python('paginate', operation, params)) as { Pages: Answer[] };
      return { items: Pages.flatMap((page) => page[key] as Answer[]), pages: Pages.length };
    },
    close() {},
  };
}

type Command = new (input: unknown) => Parameters<sdk.LambdaClient['send']>[0];

/** The AWS SDK for JavaScript v3: `<Operation>Command`, the v2 waiters, the paginators. */
export function sdkDriver(endpoint: string): LambdaDriver {
  const client = new sdk.LambdaClient({ endpoint, region: REGION, credentials: CREDENTIALS, maxAttempts: 1 });
  const blobs = (value: unknown): unknown => {
    if (value instanceof ZipFile) return readFileSync(value.path);
    if (Array.isArray(value)) return value.map(blobs);
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, blobs(v)]));
    }
    return value;
  };
  const failed = (err: unknown): never => {
    if (err instanceof sdk.LambdaServiceException) {
      throw new ClientError(err.name, err.message, err.$metadata.httpStatusCode);
    }
    throw err;
  };
  const waiters = {
    FunctionActiveV2: sdk.waitUntilFunctionActiveV2,
    FunctionUpdatedV2: sdk.waitUntilFunctionUpdatedV2,
  };
  const paginators: Record<string, unknown> = {
    ListVersionsByFunction: sdk.paginateListVersionsByFunction,
    ListAliases: sdk.paginateListAliases,
    ListFunctions: sdk.paginateListFunctions,
    ListLayerVersions: sdk.paginateListLayerVersions,
  };
  return {
    client: 'sdk-js-v3',
    async call(operation, params) {
      const Command = (sdk as unknown as Record<string, Command>)[`${operation}Command`];
      if (!Command) throw new Error(`the SDK has no ${operation}Command`);
      const input = blobs(params) as Answer;
      if (typeof input.Payload === 'string') input.Payload = Buffer.from(input.Payload);
      const out = (await client.send(new Command(input)).catch(failed)) as unknown as Answer;
      delete out.$metadata;
      if (out.Payload instanceof Uint8Array) out.Payload = Buffer.from(out.Payload).toString('utf8');
      return out;
    },
    async wait(waiter, functionName) {
      await waiters[waiter]({ client, maxWaitTime: 90, minDelay: 1 }, { FunctionName: functionName });
    },
    async listAll(operation, params, key) {
      const paginate = paginators[operation] as (
        config: { client: sdk.LambdaClient; pageSize: number },
        input: Answer,
      ) => AsyncIterable<Answer>;
      const items: Answer[] = [];
      let pages = 0;
      try {
        for await (const page of paginate({ client, pageSize: 1 }, params)) {
          pages += 1;
          items.push(...((page[key] as Answer[] | undefined) ?? []));
        }
      } catch (err) {
        failed(err);
      }
      return { items, pages };
    },
    close: () => client.destroy(),
  };
}
