// Benchmark functions: hello-world handlers for Node.js and Python, created as Function
// objects with inline code in the installed release, which resolves them (operator) and
// serves their code (artifact store).
import { createFunction, type Release } from '../harness/release.js';

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

/** Creates every function and waits until the installed operator has made each Active. */
export async function createFunctions(
  release: Release,
  namespace: string,
  functions: Record<string, BenchFunction>,
): Promise<void> {
  await Promise.all(
    Object.entries(functions).map(([name, fn]) =>
      createFunction(release, namespace, name, fn.files, {
        runtime: fn.runtime,
        handler: fn.handler,
        timeout: 30,
        memorySize: 128,
        ...fn.extra,
      }),
    ),
  );
}
