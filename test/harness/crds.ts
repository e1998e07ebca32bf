// Installs Lamina's CRDs from crds/*.yaml with client-node (create, or replace when present)
// and waits until the API server serves each one (condition Established).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ApiextensionsV1Api,
  type KubeConfig,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { parse } from 'yaml';

const crdDirectory = fileURLToPath(new URL('../../crds', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function installCrds(kc: KubeConfig, timeoutMs = 30_000): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const crds = readdirSync(crdDirectory)
    .filter((file) => file.endsWith('.yaml'))
    .map((file) => parse(readFileSync(join(crdDirectory, file), 'utf8')) as V1CustomResourceDefinition);
  for (const body of crds) {
    const name = body.metadata?.name ?? '';
    try {
      const existing = await api.readCustomResourceDefinition({ name });
      await api.replaceCustomResourceDefinition({
        name,
        body: {
          ...body,
          metadata: { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion },
        },
      });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
      await api.createCustomResourceDefinition({ body });
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (const body of crds) {
    const name = body.metadata?.name ?? '';
    for (;;) {
      const crd = await api.readCustomResourceDefinition({ name });
      if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} is not Established after ${timeoutMs} ms`);
      await sleep(100);
    }
  }
}
