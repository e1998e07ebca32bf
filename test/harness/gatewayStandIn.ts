// Until the operator runs in the e2e cluster, the gateway's e2e test and benchmark stand in
// for it: zip a Function's inline code, serve the zip from the host on the node's bridge
// address (reachable from pods) as the artifact store would, and write the Function status
// the operator would write. When the operator has resolved the code, nothing is done.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import AdmZip from 'adm-zip';
import { waitFor } from './gatewayKube.js';

const GROUP = { group: 'lamina.dev', version: 'v1alpha1' };

export interface StandIn {
  /** The store URL for the gateway, or undefined when the operator and store are running. */
  storeUrl?: string;
  close(): void;
}

export function zipFiles(files: Record<string, string>): Buffer {
  const z = new AdmZip();
  for (const [name, content] of Object.entries(files)) z.addFile(name, Buffer.from(content));
  return z.toBuffer();
}

export async function createInlineFunction(
  kc: KubeConfig,
  namespace: string,
  name: string,
  code: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    ...GROUP,
    namespace,
    plural: 'functions',
    body: {
      apiVersion: 'lamina.dev/v1alpha1',
      kind: 'Function',
      metadata: { name },
      spec: {
        runtime: 'nodejs20.x',
        handler: 'index.handler',
        timeout: 10,
        code: { inline: { 'index.mjs': code } },
        ...extra,
      },
    },
  });
}

/** `functions` maps Function name → its index.mjs. */
export async function resolveCodeOrStandIn(
  kc: KubeConfig,
  namespace: string,
  /** Function name → its code: an `index.mjs` source, or a map of file names to contents. */
  functions: Record<string, string | Record<string, string>>,
  operatorGraceMs = 10_000,
): Promise<StandIn> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const resolved = async (name: string) =>
    (
      (await custom.getNamespacedCustomObject({ ...GROUP, namespace, plural: 'functions', name })) as {
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
  for (const [name, code] of Object.entries(functions)) {
    const body = zipFiles(typeof code === 'string' ? { 'index.mjs': code } : code);
    const sha = createHash('sha256').update(body).digest('hex');
    blobs.set(sha, body);
    await custom.patchNamespacedCustomObjectStatus(
      {
        ...GROUP,
        namespace,
        plural: 'functions',
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
  const store: Server = createServer((req, res) => {
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
