// `lamina`, the command-line companion to kubectl: its commands.
export * from './commands.js';
