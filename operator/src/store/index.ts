// The artifact store: content-addressed zips over HTTP. Other modules use its client, its
// on-disk store (the operator runs it in-process), its garbage-collection rules and its
// configuration; the HTTP server stays inside.
export * from './artifact-store.js';
export * from './blob-store.js';
export * from './client.js';
export * from './config.js';
export * from './deterministic-zip.js';
export * from './download-url.js';
export * from './errors.js';
export * from './gc.js';
export * from './run.js';
export * from './zip-check.js';
