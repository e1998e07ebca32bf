// Installs Lamina's CRDs from crds/*.yaml with client-node (create, or replace when present)
// and waits until the API server serves each one (condition Established).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ApiextensionsV1Api,
  type KubeConfig,
  type V1CustomResourceDefinition,
  loadYaml,
} from '@kubernetes/client-node';

const crdDirectory = fileURLToPath(new URL('../../crds', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function installCrds(kc: KubeConfig, timeoutMs = 30_000): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const crds = readdirSync(crdDirectory)
    .filter((file) => file.endsWith('.yaml'))
    // loadYaml deserialises into client-node's model, which is what its API calls serialise
    // from: a plain parsed object would lose every hyphenated key (x-kubernetes-validations)
    // on the way out, and the API server would get CRDs without their CEL rules.
    .map((file) => loadYaml<V1CustomResourceDefinition>(readFileSync(join(crdDirectory, file), 'utf8')));
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
