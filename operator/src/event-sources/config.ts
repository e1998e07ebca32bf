// The pollers' configuration, from the operator's environment (charts/lamina: eventSources.*).
import { z } from 'zod';
import { envBool, parseEnv } from '../shared/index.js';

const Env = z.object({
  LAMINA_EVENT_SOURCES_ENABLED: envBool(true),
  /** Where the pollers call the Invoke API: the gateway Service inside the cluster. */
  LAMINA_EVENT_SOURCES_GATEWAY_URL: z.url().optional(),
  LAMINA_REGION: z
    .string()
    .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/)
    .default('us-east-1'),
});

export interface EventSourcesConfig {
  enabled: boolean;
  gatewayUrl?: string;
  region: string;
}

export function eventSourcesConfigFromEnv(env: NodeJS.ProcessEnv = process.env): EventSourcesConfig {
  const e = parseEnv(Env, env);
  return {
    enabled: e.LAMINA_EVENT_SOURCES_ENABLED && e.LAMINA_EVENT_SOURCES_GATEWAY_URL !== undefined,
    ...(e.LAMINA_EVENT_SOURCES_GATEWAY_URL && { gatewayUrl: e.LAMINA_EVENT_SOURCES_GATEWAY_URL }),
    region: e.LAMINA_REGION,
  };
}
