// Informers that restart themselves: a watch that fails (API server restart, expired
// resourceVersion) is listed and watched again after a short pause.
import {
  CoreV1Api,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type ListPromise,
  makeInformer,
  type ObjectCache,
  type V1Pod,
} from '@kubernetes/client-node';
import type { Logger } from '../../shared/index.js';

export type ResilientInformer<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

export function resilientInformer<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  list: ListPromise<T>,
  log: Logger,
  labelSelector?: string,
): ResilientInformer<T> {
  const informer = makeInformer<T>(kc, path, list, labelSelector);
  let stopped = false;
  informer.on('error', (err: unknown) => {
    if (stopped) return;
    log.warn('watch failed; restarting', { path, error: String(err) });
    setTimeout(() => {
      if (!stopped)
        informer.start().catch((e: unknown) => log.error('watch restart failed', { path, error: String(e) }));
    }, 2000).unref();
  });
  const stop = informer.stop.bind(informer);
  informer.stop = async () => {
    stopped = true;
    await stop();
  };
  return informer;
}

/** Pods in every namespace that carry `labelSelector`, kept in a restarting informer. */
export function podInformer(kc: KubeConfig, labelSelector: string, log: Logger): ResilientInformer<V1Pod> {
  const core = kc.makeApiClient(CoreV1Api);
  return resilientInformer<V1Pod>(
    kc,
    '/api/v1/pods',
    () => core.listPodForAllNamespaces({ labelSelector }),
    log,
    labelSelector,
  );
}
