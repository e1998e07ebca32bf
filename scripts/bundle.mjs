#!/usr/bin/env node
// Bundles Lamina's programs into single ES module files for the images: small images,
// no node_modules to copy, and fast process start (which the cold-start path pays for).
//   node scripts/bundle.mjs [agent] [operator]     (default: both)
import { build } from 'esbuild';

const targets = {
  agent: { entryPoints: { agent: 'runtime-image/agent/src/main.ts' }, outdir: 'dist/agent' },
  operator: {
    entryPoints: {
      'main-operator': 'operator/src/main-operator.ts',
      'main-gateway': 'operator/src/main-gateway.ts',
      lamina: 'operator/src/cli/main.ts',
    },
    outdir: 'dist/operator',
  },
};

const requested = process.argv.slice(2);
for (const name of requested.length > 0 ? requested : Object.keys(targets)) {
  const target = targets[name];
  if (!target) throw new Error(`unknown bundle ${name}; use ${Object.keys(targets).join(', ')}`);
  await build({
    ...target,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    outExtension: { '.js': '.mjs' },
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'warning',
    // Some CommonJS dependencies call require() at run time; give ESM bundles one.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
  });
  console.log(`bundled ${name} into ${target.outdir}`);
}
