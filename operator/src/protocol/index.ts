// The gateway ↔ agent contract, defined once and imported by both sides: the function
// configuration the agent runs and the HTTP exchange on the agent's port.
export * from './agent-error.js';
export * from './agent-http.js';
export * from './function-config.js';
export * from './runtime-images.js';
export * from './trace-id.js';
