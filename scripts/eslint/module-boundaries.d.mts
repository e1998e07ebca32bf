import type { ESLint, Rule } from 'eslint';

export function moduleOf(path: string): string | undefined;
export function crossesBoundary(from: string, to: string): boolean;
declare const plugin: ESLint.Plugin & { rules: { 'module-boundaries': Rule.RuleModule } };
export default plugin;
