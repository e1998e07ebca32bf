// The access keys SigV4 requests are verified against: Secrets labelled
// `lamina.dev/access-key=true` in one namespace (the release's), watched so a new or deleted
// key takes effect without a restart. Unusable Secrets are logged once per change, never their
// values.
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import type { Logger } from '../../shared/index.js';
import {
  ACCESS_KEY_SELECTOR,
  type AccessKey,
  type AccessKeyIndex,
  type AccessKeyLookup,
  indexAccessKeys,
} from '../auth/access-keys.js';
import { type ResilientInformer, resilientInformer } from './informers.js';

export class SecretAccessKeys implements AccessKeyLookup {
  private index: AccessKeyIndex = { keys: new Map(), rejected: [] };
  private readonly informer: ResilientInformer<V1Secret>;
  private lastRejected = '';

  constructor(
    kc: KubeConfig,
    readonly namespace: string,
    private readonly log: Logger,
  ) {
    const core = kc.makeApiClient(CoreV1Api);
    this.informer = resilientInformer<V1Secret>(
      kc,
      `/api/v1/namespaces/${namespace}/secrets`,
      () => core.listNamespacedSecret({ namespace, labelSelector: ACCESS_KEY_SELECTOR }),
      log,
      ACCESS_KEY_SELECTOR,
    );
    for (const event of ['add', 'update', 'delete'] as const) this.informer.on(event, () => this.rebuild());
  }

  async start(): Promise<void> {
    await this.informer.start();
    this.rebuild();
  }

  async stop(): Promise<void> {
    await this.informer.stop();
  }

  get(accessKeyId: string): AccessKey | undefined {
    return this.index.keys.get(accessKeyId);
  }

  private rebuild(): void {
    this.index = indexAccessKeys(this.informer.list());
    const rejected = JSON.stringify(this.index.rejected);
    if (rejected !== this.lastRejected && this.index.rejected.length > 0) {
      this.log.warn('access key Secrets not used', { rejected: this.index.rejected });
    }
    this.lastRejected = rejected;
  }
}
