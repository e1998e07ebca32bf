#!/usr/bin/env node
// Bundles Lamina's programs into single ES module files for the images: small images,
// no node_modules to copy, and fast process start (which the cold-start path pays for).
//   node scripts/bundle.mjs [operator]     (default: all)
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

/**
 * Native modules cannot be bundled: they stay external and the files they load at run time
 * are copied beside the bundle, into its own node_modules. better-sqlite3 (the gateway's
 * durable async queue) finds its compiled addon through `bindings`.
 */
const NATIVE_FILES = [
  'better-sqlite3/package.json',
  'better-sqlite3/lib',
  'better-sqlite3/build/Release/better_sqlite3.node',
  'bindings/package.json',
  'bindings/bindings.js',
  'file-uri-to-path/package.json',
  'file-uri-to-path/index.js',
];

function copyNativeModules(outdir) {
  const target = join(outdir, 'node_modules');
  rmSync(target, { recursive: true, force: true });
  for (const file of NATIVE_FILES) {
    mkdirSync(dirname(join(target, file)), { recursive: true });
    cpSync(join('node_modules', file), join(target, file), { recursive: true });
  }
}

const targets = {
  operator: {
    entryPoints: {
      'main-operator': 'operator/src/bin/operator.ts',
      'main-gateway': 'operator/src/bin/gateway.ts',
      lamina: 'operator/src/bin/lamina.ts',
    },
    outdir: 'dist/operator',
    external: ['better-sqlite3'],
    // The Kafka client's WebAssembly helpers (CRC32C, lz4, snappy) read native.wasm beside
    // their own file at run time; their `bundled` entry inlines it, so the bundle carries it.
    alias: { '@platformatic/wasm-utils': '@platformatic/wasm-utils/bundled' },
    native: true,
  },
};

const requested = process.argv.slice(2);
for (const name of requested.length > 0 ? requested : Object.keys(targets)) {
  const target = targets[name];
  if (!target) throw new Error(`unknown bundle ${name}; use ${Object.keys(targets).join(', ')}`);
  const { native, ...options } = target;
  await build({
    ...options,
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
  if (native) copyNativeModules(target.outdir);
  console.log(`bundled ${name} into ${target.outdir}`);
}
