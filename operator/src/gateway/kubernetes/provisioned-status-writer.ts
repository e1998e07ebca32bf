// Writes only `status.provisionedConcurrency` of Versions and Aliases (a merge patch on the
// status subresource), leaving every other status field to the operator.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { API_VERSION, GROUP } from '../../api/index.js';
import type { ProvisionedConcurrencyStatus, ProvisionedStatusWriter } from '../dispatch/catalog-sync.js';

export class KubernetesProvisionedStatusWriter implements ProvisionedStatusWriter {
  private readonly api: CustomObjectsApi;

  constructor(kc: KubeConfig) {
    this.api = kc.makeApiClient(CustomObjectsApi);
  }

  async write(
    kind: 'Version' | 'Alias',
    namespace: string,
    name: string,
    status: ProvisionedConcurrencyStatus,
  ) {
    await this.api.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: API_VERSION,
        namespace,
        plural: kind === 'Version' ? 'versions' : 'aliases',
        name,
        body: { status: { provisionedConcurrency: status } },
        fieldManager: 'lamina-gateway',
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }
}
