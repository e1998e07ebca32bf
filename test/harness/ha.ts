// The highly available shape of the installed release for e2e tests (values-ha.yaml: 3 gateway
// replicas sharing the functions, NATS JetStream, a PodDisruptionBudget): switching to it and
// back, the gateway pods, and invokes that record when they were sent and answered.
import { after, before } from 'node:test';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import { waitFor } from './gateway-kube.js';
import {
  functionArn,
  installedRelease,
  RELEASE_NAMESPACE,
  setReleaseValues,
  testNamespace,
  type Release,
} from './release.js';

export interface Outcome {
  fn: string;
  sentAt: number;
  doneAt: number;
  status: number; // 0: no HTTP answer (connection reset)
  body: Record<string, unknown> | undefined;
  reason?: string;
  /** Why there was no HTTP answer, and from which address the connection was cut. */
  error?: string;
}

/** The gateway pods that are running and not being deleted. */
export async function gatewayPods(core: CoreV1Api): Promise<V1Pod[]> {
  return (
    await core.listNamespacedPod({
      namespace: RELEASE_NAMESPACE,
      labelSelector: 'app.kubernetes.io/component=gateway',
    })
  ).items.filter((p) => !p.metadata?.deletionTimestamp && p.status?.podIP);
}

/**
 * Turns the release into the HA shape with `values` on top, and waits until its three gateway
 * replicas each serve shards and see each other. Returns what restores the values it had.
 */
async function highlyAvailable(
  release: Release,
  values: Record<string, string | number>,
): Promise<() => Promise<void>> {
  const core = release.kc.makeApiClient(CoreV1Api);
  const restore = await setReleaseValues(release, values, ['charts/lamina/values-ha.yaml']);
  let seen = 'nothing yet';
  await waitFor(
    'three gateway replicas, each serving shards',
    async () => {
      const pods = await gatewayPods(core);
      const health = await Promise.all(
        pods.map(async (p) => {
          const res = await fetch(`http://${p.status!.podIP}:8080/healthz`).catch(() => undefined);
          return (await res?.json().catch(() => undefined)) as
            { status: string; sharding?: { ownedShards: number; liveMembers: string[] } } | undefined;
        }),
      );
      seen = JSON.stringify(
        pods.map((p, i) => ({ pod: p.metadata?.name, phase: p.status?.phase, health: health[i] })),
      );
      return pods.length === 3 &&
        health.every(
          (h) =>
            h?.status === 'ok' && (h.sharding?.ownedShards ?? 0) > 0 && h.sharding?.liveMembers.length === 3,
        )
        ? true
        : undefined;
    },
    180_000,
    1000,
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}; last seen: ${seen}`);
  });
  return restore;
}

/** Invokes through the gateway's Service on keep-alive connections, recording each outcome. */
function outcomeInvoker(release: Release, namespace: () => string) {
  const dispatcher = new Agent({ connections: 256, keepAliveTimeout: 10_000 });
  /** One invoke; `fresh`: on a new connection (so a dead replica fails only what it was sent). */
  const invoke = async (fn: string, payload: unknown = {}, fresh = false): Promise<Outcome> => {
    const sentAt = Date.now();
    try {
      const res = await request(
        `${release.gatewayUrl}/2015-03-31/functions/${functionArn(namespace(), fn)}/invocations`,
        { method: 'POST', body: JSON.stringify(payload), dispatcher, reset: fresh },
      );
      const text = await res.body.text();
      let body: Record<string, unknown> | undefined;
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        body = undefined;
      }
      return {
        fn,
        sentAt,
        doneAt: Date.now(),
        status: res.statusCode,
        body,
        ...(typeof body?.Reason === 'string' ? { reason: body.Reason } : {}),
      };
    } catch (err) {
      const e = err as { code?: string; message?: string; socket?: { remoteAddress?: string } };
      const error = `${e.code ?? ''} ${e.message ?? String(err)} ${e.socket?.remoteAddress ?? ''}`.trim();
      return { fn, sentAt, doneAt: Date.now(), status: 0, body: undefined, error };
    }
  };
  return { invoke, close: () => dispatcher.close() };
}

/** What a describe() block on the HA shape works with, once its `before` hook has run. */
export interface HighlyAvailableSuite {
  release: Release;
  core: CoreV1Api;
  ns: Awaited<ReturnType<typeof testNamespace>>;
  invoke: ReturnType<typeof outcomeInvoker>['invoke'];
}

/**
 * Registers the hooks of a describe() block on the HA shape with `values` on top: the release
 * switched to it, a test namespace and an outcome invoker; all of it undone afterwards.
 */
export function useHighlyAvailable(values: Record<string, string | number>): HighlyAvailableSuite {
  const suite = {} as HighlyAvailableSuite;
  let restore: (() => Promise<void>) | undefined;
  let close: (() => Promise<void>) | undefined;
  before(async () => {
    suite.release = await installedRelease();
    suite.core = suite.release.kc.makeApiClient(CoreV1Api);
    restore = await highlyAvailable(suite.release, values);
    suite.ns = await testNamespace(suite.release, 'ha');
    ({ invoke: suite.invoke, close } = outcomeInvoker(suite.release, () => suite.ns.name));
  });
  after(async () => {
    await close?.();
    await suite.ns?.dispose();
    await restore?.();
  });
  return suite;
}
