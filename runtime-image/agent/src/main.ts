// Entrypoint of every function pod: `node /var/lamina/agent.mjs`.
// Starts the Runtime API (127.0.0.1) and the invoke server, then either specialises at once
// (LAMINA_FUNCTION) or waits generic in the warm pool for POST /lamina/v1/specialize.
import { systemClock } from './clock.js';
import { parseFunctionConfigJson } from './config.js';
import { ExecutionEnvironment } from './environment.js';
import { createInvokeServer, listen } from './invoke-server.js';
import { agentLog } from './logs.js';
import { readSettings, type AgentSettings } from './settings.js';
import { warmUp } from './warm-up.js';

async function main(): Promise<void> {
  let settings: AgentSettings;
  let initialConfig;
  try {
    settings = readSettings(process.env);
    initialConfig =
      settings.functionJson === undefined ? undefined : parseFunctionConfigJson(settings.functionJson);
  } catch (err) {
    // Invalid configuration stops the process with a message naming the field.
    agentLog('error', 'invalid configuration', { error: (err as Error).message });
    process.exit(2);
  }

  const env = new ExecutionEnvironment(settings, systemClock);
  const runtimeApiPort = await env.listen();
  const server = createInvokeServer(env);
  const invokePort = await listen(server, settings.host, settings.invokePort);
  agentLog('info', 'agent listening', { invokePort, runtimeApiPort, pid: process.pid });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    agentLog('info', 'shutting down', { signal });
    server.closeAllConnections();
    server.close();
    await env.shutdown();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  if (!initialConfig) {
    // Generic (warm pool): start the language runtimes and pay every first-use cost now.
    env.startStandbys();
    void warmUp(invokePort).catch((err: unknown) =>
      agentLog('warn', 'warm-up failed', { error: String(err) }),
    );
  }

  if (initialConfig) {
    try {
      const result = await env.specialize(initialConfig);
      agentLog('info', 'specialised', { ...result });
    } catch (err) {
      // A pod started for one function is useless without it: exit so Kubernetes reports it.
      agentLog('error', 'specialisation failed', {
        error: (err as Error).message,
        errorType: (err as { errorType?: string }).errorType,
      });
      await env.shutdown();
      process.exit(1);
    }
  }
}

await main();
