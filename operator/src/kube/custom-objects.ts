// Typed access to one Lamina kind. Writes are merge patches (a field we do not name is left
// alone) and status goes through the status subresource. Passing `resourceVersion` makes a
// patch conditional: the API server refuses it with 409 if the object changed since it was
// read, which is how counters and append-only lists avoid lost updates.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { API_VERSION, GROUP, type CustomObject } from '../api/index.js';
import { isNotFound } from './errors.js';

export const FIELD_MANAGER = 'lamina-operator';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** A JSON merge patch: `null` deletes a field. */
export type MergePatch = { [key: string]: unknown };

export class ResourceClient<T extends CustomObject<unknown, unknown>> {
  private readonly api: CustomObjectsApi;

  /** `fieldManager`: who the API server records as the writer (managedFields). */
  constructor(
    kc: KubeConfig,
    readonly plural: string,
    readonly kind: string,
    private readonly fieldManager = FIELD_MANAGER,
  ) {
    this.api = kc.makeApiClient(CustomObjectsApi);
  }

  private target(namespace: string, name: string) {
    return { group: GROUP, version: API_VERSION, plural: this.plural, namespace, name };
  }

  async get(namespace: string, name: string): Promise<T | undefined> {
    try {
      return (await this.api.getNamespacedCustomObject(this.target(namespace, name))) as T;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async list(namespace: string, labelSelector?: string): Promise<T[]> {
    const list = (await this.api.listNamespacedCustomObject({
      group: GROUP,
      version: API_VERSION,
      plural: this.plural,
      namespace,
      ...(labelSelector && { labelSelector }),
    })) as { items: T[] };
    return list.items;
  }

  /** Creates the object; `metadata.generateName` instead of `name` lets the API server pick one. */
  async create(
    namespace: string,
    body: { metadata: Omit<T['metadata'], 'name'> & { name?: string }; spec: T['spec'] },
  ): Promise<T> {
    return (await this.api.createNamespacedCustomObject({
      group: GROUP,
      version: API_VERSION,
      plural: this.plural,
      namespace,
      fieldManager: this.fieldManager,
      body: { apiVersion: `${GROUP}/${API_VERSION}`, kind: this.kind, ...body },
    })) as T;
  }

  /** Merge patch of metadata/spec; with `resourceVersion` it applies only to that exact version. */
  async patch(namespace: string, name: string, patch: MergePatch, resourceVersion?: string): Promise<T> {
    return (await this.api.patchNamespacedCustomObject(
      {
        ...this.target(namespace, name),
        body: withResourceVersion(patch, resourceVersion),
        fieldManager: this.fieldManager,
      },
      mergePatch,
    )) as T;
  }

  /** Merge patch of the status subresource. */
  async patchStatus(
    namespace: string,
    name: string,
    status: MergePatch,
    resourceVersion?: string,
  ): Promise<T> {
    return (await this.api.patchNamespacedCustomObjectStatus(
      {
        ...this.target(namespace, name),
        body: withResourceVersion({ status }, resourceVersion),
        fieldManager: this.fieldManager,
      },
      mergePatch,
    )) as T;
  }

  async delete(namespace: string, name: string): Promise<void> {
    try {
      await this.api.deleteNamespacedCustomObject(this.target(namespace, name));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

function withResourceVersion(patch: MergePatch, resourceVersion: string | undefined): MergePatch {
  if (!resourceVersion) return patch;
  const metadata = (patch.metadata ?? {}) as MergePatch;
  return { ...patch, metadata: { ...metadata, resourceVersion } };
}
