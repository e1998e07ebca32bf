// Neutral ground every program uses: the clock, structured logs, configuration parsing.
export * from './clock.js';
export * from './config.js';
export * from './log.js';
export * from './random.js';
export * from './raw-body.js';
export * from './status-text.js';
