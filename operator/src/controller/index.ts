// The operator: one reconciler per kind, under leader election.
export * from './config.js';
export * from './layer-pins.js';
export * from './operator.js';
export * from './reasons.js';
export { MANIFEST_TYPES, RegistryClient, type RegistrySession } from './registry-client.js';
export { imageResolutionPending, RESOLVE_IMAGE_ANNOTATION } from './image-resolution.js';
