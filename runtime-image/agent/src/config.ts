// The function configuration the gateway hands an environment (env LAMINA_FUNCTION or
// POST /lamina/v1/specialize). The schema is the protocol's (operator/src/protocol); here
// anything invalid becomes the agent's typed refusal, naming the field, before any download.
import { checkFunctionConfig, type FunctionConfig } from '../../../operator/src/protocol/index.js';
import { InvalidConfigError } from './errors.js';

export type { FunctionConfig };

/** Validates untrusted JSON (already parsed) into a FunctionConfig or throws InvalidConfigError. */
export function parseFunctionConfig(input: unknown): FunctionConfig {
  const result = checkFunctionConfig(input);
  if (result.ok) return result.config;
  throw new InvalidConfigError(`Invalid function configuration: ${result.problems}`);
}

/** Parses the JSON text of a configuration (env var or request body). */
export function parseFunctionConfigJson(text: string): FunctionConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidConfigError(`Invalid function configuration: not JSON (${(err as Error).message})`);
  }
  return parseFunctionConfig(value);
}
