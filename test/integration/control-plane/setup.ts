// The control plane over a real kube-apiserver: the real operator in this process (with its
// embedded artifact store, sharing a download key with the gateway) and the gateway serving
// the Lambda API on a local port. Tests drive it with the AWS SDK and the AWS CLI.
import { randomBytes } from 'node:crypto';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { CallerNamespace } from '../../../operator/src/kube/index.js';
import { allowEveryone, type ControlPlaneAccess } from '../../../operator/src/control-plane/index.js';
import { httpStore, kubernetesObjects } from '../../../operator/src/control-plane/kubernetes.js';
import type { RunningOperator } from '../../../operator/src/controller/operator.js';
import type { InvokeAuthorizer } from '../../../operator/src/gateway/auth/lambda-auth.js';
import { createGateway, type Gateway } from '../../../operator/src/gateway/gateway.js';
import type { SigV4Verification } from '../../../operator/src/gateway/server.js';
import { KubernetesCatalog } from '../../../operator/src/gateway/kubernetes/kubernetes-catalog.js';
import { KubernetesProvider } from '../../../operator/src/gateway/kubernetes/kubernetes-provider.js';
import { createLogger } from '../../../operator/src/shared/log.js';
import { adminKubeConfig, createTestNamespace, installLaminaCrds } from '../../harness/gateway-kube.js';
import { startTestOperator } from '../../harness/operator.js';
import AdmZip from 'adm-zip';

/** Any role ARN: Lamina keeps it, and runs the function with no API token unless it names one. */
export const ROLE = 'arn:aws:iam::000000000000:role/x';

/** The zip of a one-line Python handler. */
export const pythonZip = () => {
  const z = new AdmZip();
  z.addFile('app.py', Buffer.from('def handler(e, c):\n    return 1\n'));
  return new Uint8Array(z.toBuffer());
};

/** The Lambda error a call fails with, as the SDK reports it. */
export async function failure(
  call: Promise<unknown>,
): Promise<{ name: string; message: string; status?: number }> {
  try {
    await call;
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('the call succeeded');
}

export const LIMITS = { maxZipBytes: 256 * 1024, maxUnzippedBytes: 8 * 1024 * 1024 };

export interface ControlPlaneWorld {
  kc: KubeConfig;
  namespace: string;
  endpoint: string;
  lambda: LambdaClient;
  /** The object as `kubectl get` shows it, or undefined when it does not exist. */
  kubectlGet<T>(plural: string, name: string): Promise<T | undefined>;
  kubectlList<T>(plural: string): Promise<T[]>;
  dispose(): Promise<void>;
}

export interface ControlPlaneSetup {
  /** Code.Location points at the artifact store instead of the gateway. */
  downloadsFromStore?: boolean;
  /** Who may call (default: everyone). */
  access?: ControlPlaneAccess;
  /** Where callers' bare names resolve (default: the test namespace for everyone). */
  bareNames?: CallerNamespace;
  /** Invoke API callers must be allowed by it (default: anyone may invoke). */
  invokeAuthorizer?: InvokeAuthorizer;
  /** SigV4 signatures verified on the Invoke API and the control plane. */
  sigv4?: SigV4Verification;
  /** The gateway's own identity (default: the admin); given the namespace the test made. */
  gatewayIdentity?: (namespace: string) => Promise<KubeConfig>;
  /** More environment for the operator (e.g. LAMINA_INSECURE_REGISTRIES). */
  operatorEnv?: Record<string, string>;
}

export async function startControlPlane(
  prefix: string,
  options: ControlPlaneSetup = {},
): Promise<ControlPlaneWorld> {
  const log = createLogger({}, 'error');
  const kc = await adminKubeConfig();
  await installLaminaCrds(kc);
  const ns = await createTestNamespace(kc, prefix);
  const downloadKey = randomBytes(24).toString('hex');
  let operator: RunningOperator | undefined;
  let catalog: KubernetesCatalog | undefined;
  let gateway: Gateway | undefined;
  try {
    operator = await startTestOperator(kc, {
      namespaces: [ns.name],
      env: {
        LAMINA_STORE_DOWNLOAD_KEY: downloadKey,
        LAMINA_MAX_UNZIPPED_BYTES: String(LIMITS.maxUnzippedBytes),
        ...options.operatorEnv,
      },
    });
    const gatewayKc = options.gatewayIdentity ? await options.gatewayIdentity(ns.name) : kc;
    catalog = new KubernetesCatalog(gatewayKc, log);
    await catalog.start();
    gateway = await createGateway({
      settings: {
        defaultNamespace: ns.name,
        region: 'us-east-1',
        namespaceConcurrencyLimit: 1000,
        unreservedConcurrencyMinimum: 100,
        scaling: { burst: 10, rate: 1, intervalMs: 1000 },
        idleTimeoutMs: 60_000,
        maintenanceIntervalMs: 500,
        coldStartTimeoutMs: 1500,
        clusterAutoscaler: false,
        syncPayloadLimitBytes: 6_291_456,
        asyncPayloadLimitBytes: 1_048_576,
        storeUrl: operator.storeUrl,
        urlDomain: 'lamina.local',
      },
      catalog,
      provider: new KubernetesProvider(gatewayKc, { image: 'lamina/runtime:dev' }, log),
      log,
      ...(options.invokeAuthorizer && { invokeAuthorizer: options.invokeAuthorizer }),
      ...(options.bareNames && { bareNames: options.bareNames }),
      ...(options.sigv4 && { sigv4: options.sigv4 }),
      controlPlane: {
        objects: kubernetesObjects(gatewayKc),
        store: httpStore(operator.storeUrl),
        downloads: {
          key: downloadKey,
          ttlSeconds: 60,
          ...(options.downloadsFromStore && { storePublicUrl: operator.storeUrl }),
        },
        access: options.access ?? allowEveryone,
        ...(options.bareNames && { bareNames: options.bareNames }),
        region: 'us-east-1',
        defaultNamespace: ns.name,
        code: LIMITS,
        concurrency: { namespaceLimit: 1000, unreservedMinimum: 100 },
        publishTimeoutMs: 20_000,
        now: Date.now,
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      },
    });
  } catch (err) {
    await catalog?.stop();
    await operator?.stop();
    await ns.dispose();
    throw err;
  }
  const endpoint = await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  const lambda = new LambdaClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDLAMINA', secretAccessKey: 'unused' },
    maxAttempts: 1,
  });
  const custom = kc.makeApiClient(CustomObjectsApi);
  const target = { group: 'lamina.dev', version: 'v1alpha1', namespace: ns.name };
  return {
    kc,
    namespace: ns.name,
    endpoint,
    lambda,
    async kubectlGet<T>(plural: string, name: string) {
      try {
        return (await custom.getNamespacedCustomObject({ ...target, plural, name })) as T;
      } catch (err) {
        if ((err as { code?: number }).code === 404) return undefined;
        throw err;
      }
    },
    async kubectlList<T>(plural: string) {
      return ((await custom.listNamespacedCustomObject({ ...target, plural })) as { items: T[] }).items;
    },
    async dispose() {
      lambda.destroy();
      await gateway?.stop();
      await catalog?.stop();
      await ns.dispose();
      await operator?.stop();
    },
  };
}
