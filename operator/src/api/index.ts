// The Lamina API (group lamina.dev, version v1alpha1): schemas, types and derived helpers.
export * from './common.js';
export * from './function.js';
export * from './layer.js';
export * from './version.js';
export * from './alias.js';
export * from './resources.js';
export * from './snapshot.js';
export * from './function-name.js';
export * from './function-url.js';
export * from './event-source-mapping.js';
export * from './network.js';
export * from './image.js';
