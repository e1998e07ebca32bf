// Benchmark functions on the local cluster: hello-world handlers for Node.js and Python,
// created as Function objects with inline code. When the operator runs in the cluster it
// resolves the code and its store serves it; otherwise this stands in for both (zip served
// from the host on the node's address, status written as the operator would), like
// test/harness/gatewayStandIn.ts does for index.mjs-only functions.
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import { waitFor } from '../harness/gatewayKube.js';
import { zipFiles } from '../harness/gatewayStandIn.js';

const GROUP = { group: 'lamina.dev', version: 'v1alpha1', plural: 'functions' };

export interface BenchFunction {
  runtime: string;
  handler: string;
  files: Record<string, string>;
  extra?: Record<string, unknown>;
}

export const NODE_HELLO: BenchFunction = {
  runtime: 'nodejs20.x',
  handler: 'index.handler',
  files: { 'index.mjs': "export const handler = async () => ({ hello: 'world' });\n" },
};
export const PYTHON_HELLO: BenchFunction = {
  runtime: 'python3.13',
  handler: 'app.handler',
  files: { 'app.py': "def handler(event, context):\n    return {'hello': 'world'}\n" },
};
export const NODE_ECHO: BenchFunction = {
  runtime: 'nodejs20.x',
  handler: 'index.handler',
  files: { 'index.mjs': 'export const handler = async (event) => event;\n' },
};
/** Holds its environment busy for `event.ms`, answering when it started. */
export const NODE_HOLD: BenchFunction = {
  runtime: 'nodejs20.x',
  handler: 'index.handler',
  files: {
    'index.mjs':
      'export const handler = async (event) => { const start = Date.now(); await new Promise((r) => setTimeout(r, event.ms ?? 1000)); return { start }; };\n',
  },
};

export interface FunctionSet {
  /** The store URL for the gateway when standing in; undefined when the operator serves code. */
  storeUrl?: string;
  close(): void;
}

export async function createFunctions(
  kc: KubeConfig,
  namespace: string,
  functions: Record<string, BenchFunction>,
  operatorGraceMs = 15_000,
): Promise<FunctionSet> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  for (const [name, fn] of Object.entries(functions)) {
    await custom.createNamespacedCustomObject({
      ...GROUP,
      namespace,
      body: {
        apiVersion: 'lamina.dev/v1alpha1',
        kind: 'Function',
        metadata: { name },
        spec: {
          runtime: fn.runtime,
          handler: fn.handler,
          timeout: 30,
          memorySize: 128,
          code: { inline: fn.files },
          ...fn.extra,
        },
      },
    });
  }
  const resolved = async (name: string) =>
    (
      (await custom.getNamespacedCustomObject({ ...GROUP, namespace, name })) as {
        status?: { codeSha256?: string };
      }
    ).status?.codeSha256;
  const names = Object.keys(functions);
  const byOperator = await waitFor(
    'the operator to resolve code',
    async () => ((await Promise.all(names.map(resolved))).every(Boolean) ? true : undefined),
    operatorGraceMs,
    250,
  ).catch(() => false);
  if (byOperator) return { close: () => undefined };

  const blobs = new Map<string, Buffer>();
  for (const [name, fn] of Object.entries(functions)) {
    const body = zipFiles(fn.files);
    const sha = createHash('sha256').update(body).digest('hex');
    blobs.set(sha, body);
    await custom.patchNamespacedCustomObjectStatus(
      {
        ...GROUP,
        namespace,
        name,
        body: {
          status: {
            state: 'Active',
            codeSha256: sha,
            codeSize: body.length,
            revisionId: randomBytes(4).toString('hex'),
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }
  const store = createServer((req, res) => {
    const sha = /^\/blobs\/sha256\/([a-f0-9]{64})$/.exec(req.url ?? '')?.[1];
    const blob = sha ? blobs.get(sha) : undefined;
    if (!blob) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/zip', 'content-length': blob.length }).end(blob);
  });
  await new Promise<void>((resolve) => store.listen(0, '0.0.0.0', resolve));
  const node = (await kc.makeApiClient(CoreV1Api).listNode()).items[0];
  const hostIp = node?.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '127.0.0.1';
  return {
    storeUrl: `http://${hostIp}:${(store.address() as AddressInfo).port}`,
    close: () => store.close(),
  };
}
