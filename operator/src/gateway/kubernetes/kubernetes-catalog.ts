// The catalog fed by informers on Functions, Versions and Aliases in all namespaces: the
// invoke path reads memory only, never the API server.
import {
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { type Alias, API_VERSION, GROUP, type LaminaFunction, type Version } from '../../api/index.js';
import type { Logger } from '../../shared/index.js';
import { MemoryCatalog } from '../catalog/catalog.js';
import { resilientInformer, type ResilientInformer } from './informers.js';

type Kind<T> = { plural: string; upsert: (o: T) => void; remove: (o: T) => void };

export class KubernetesCatalog extends MemoryCatalog {
  private readonly informers: Array<ResilientInformer<KubernetesObject>> = [];

  constructor(
    private readonly kc: KubeConfig,
    private readonly log: Logger,
  ) {
    super();
  }

  async start(): Promise<void> {
    const api = this.kc.makeApiClient(CustomObjectsApi);
    const kinds: Array<Kind<never>> = [
      {
        plural: 'functions',
        upsert: (o: LaminaFunction) => this.upsertFunction(o),
        remove: (o: LaminaFunction) => this.removeFunction(o),
      },
      {
        plural: 'versions',
        upsert: (o: Version) => this.upsertVersion(o),
        remove: (o: Version) => this.removeVersion(o),
      },
      {
        plural: 'aliases',
        upsert: (o: Alias) => this.upsertAlias(o),
        remove: (o: Alias) => this.removeAlias(o),
      },
    ] as Array<Kind<never>>;
    for (const kind of kinds) {
      const informer = resilientInformer<KubernetesObject>(
        this.kc,
        `/apis/${GROUP}/${API_VERSION}/${kind.plural}`,
        () =>
          api.listClusterCustomObject({ group: GROUP, version: API_VERSION, plural: kind.plural }) as Promise<
            KubernetesListObject<KubernetesObject>
          >,
        this.log,
      );
      informer.on('add', (o) => kind.upsert(o as never));
      informer.on('update', (o) => kind.upsert(o as never));
      informer.on('delete', (o) => kind.remove(o as never));
      this.informers.push(informer);
    }
    await Promise.all(this.informers.map((i) => i.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
  }
}
