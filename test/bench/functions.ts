// Benchmark functions on the local cluster: hello-world handlers for Node.js and Python,
// created as Function objects with inline code. When the operator runs in the cluster it
// resolves the code and its store serves it; otherwise test/harness/gatewayStandIn.ts stands
// in for both (zip served from the host on the node's address, status written as the
// operator would).
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { resolveCodeOrStandIn, type StandIn } from '../harness/gatewayStandIn.js';

const GROUP = { group: 'lamina.dev', version: 'v1alpha1', plural: 'functions' };

export interface BenchFunction {
  runtime: string;
  handler: string;
  files: Record<string, string>;
  extra?: Record<string, unknown>;
}

export const NODE_HELLO: BenchFunction = {
  runtime: 'nodejs20.x',
  handler: 'index.handler',
  files: { 'index.mjs': "export const handler = async () => ({ hello: 'world' });\n" },
};
export const PYTHON_HELLO: BenchFunction = {
  runtime: 'python3.13',
  handler: 'app.handler',
  files: { 'app.py': "def handler(event, context):\n    return {'hello': 'world'}\n" },
};
export const NODE_ECHO: BenchFunction = {
  runtime: 'nodejs20.x',
  handler: 'index.handler',
  files: { 'index.mjs': 'export const handler = async (event) => event;\n' },
};
/** Holds its environment busy for `event.ms`, answering when it started. */
export const NODE_HOLD: BenchFunction = {
  runtime: 'nodejs20.x',
  handler: 'index.handler',
  files: {
    'index.mjs':
      'export const handler = async (event) => { const start = Date.now(); await new Promise((r) => setTimeout(r, event.ms ?? 1000)); return { start }; };\n',
  },
};

export type FunctionSet = StandIn;

export async function createFunctions(
  kc: KubeConfig,
  namespace: string,
  functions: Record<string, BenchFunction>,
  operatorGraceMs = 15_000,
): Promise<FunctionSet> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  for (const [name, fn] of Object.entries(functions)) {
    await custom.createNamespacedCustomObject({
      ...GROUP,
      namespace,
      body: {
        apiVersion: 'lamina.dev/v1alpha1',
        kind: 'Function',
        metadata: { name },
        spec: {
          runtime: fn.runtime,
          handler: fn.handler,
          timeout: 30,
          memorySize: 128,
          code: { inline: fn.files },
          ...fn.extra,
        },
      },
    });
  }
  return resolveCodeOrStandIn(
    kc,
    namespace,
    Object.fromEntries(Object.entries(functions).map(([name, fn]) => [name, fn.files])),
    operatorGraceMs,
  );
}
