// The agent's own settings, read once from its environment. The defaults are the image's
// layout; tests override the paths and ports so the agent runs as an ordinary process.
import { z } from 'zod';
import { STANDBY_RUNTIMES } from './runtime-env.js';

const port = z.coerce.number().int().min(0).max(65535);

const settingsSchema = z.object({
  LAMINA_AGENT_HOST: z.string().default('0.0.0.0'),
  LAMINA_AGENT_PORT: port.default(8080),
  LAMINA_RUNTIME_API_PORT: port.default(9001),
  LAMINA_TASK_ROOT: z.string().startsWith('/').default('/var/task'),
  LAMINA_OPT_ROOT: z.string().startsWith('/').default('/opt'),
  LAMINA_RUNTIME_DIR: z.string().startsWith('/').default('/var/runtime'),
  /** Image functions: the emptyDir shared with the function's container (container-runtime.ts). */
  LAMINA_LAUNCH_DIR: z.string().startsWith('/').default('/lamina'),
  /** Image functions: the static launcher copied into LAMINA_LAUNCH_DIR. */
  LAMINA_LAUNCHER: z.string().startsWith('/').default('/var/lamina/lamina-launch'),
  /** Image functions: written once the agent listens for the launcher (the sidecar's postStart hook waits). */
  LAMINA_RUNTIME_EXPECTED_FILE: z.string().startsWith('/').default('/tmp/.lamina-runtime-expected'),
  /** Function configuration JSON: specialise at start instead of waiting for POST /specialize. */
  LAMINA_FUNCTION: z.string().optional(),
  /** A cgroup (v1 memory controller or v2) under which the agent creates one child per runtime process. */
  LAMINA_MEMORY_CGROUP: z.string().startsWith('/').optional(),
  /** Lambda's Init limit is 10 s [LAMBDA-SPEC §7]; tests shorten it. */
  LAMINA_INIT_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  LAMINA_NODE_BIN: z.string().default(process.execPath),
  LAMINA_PYTHON_BIN: z.string().default('python3'),
  /** Only for Max Memory Used sampling while an invocation runs without a cgroup. */
  LAMINA_MEMORY_SAMPLE_MS: z.coerce.number().int().positive().default(100),
  /** Set on warm-pool pods: the memory size of the runtimes started before their function. */
  LAMINA_STANDBY_MEMORY_SIZE: z.coerce.number().int().min(128).max(10240).optional(),
  /** Which runtimes to start in standby (comma-separated; empty: none). */
  LAMINA_STANDBY_RUNTIMES: z
    .string()
    .default(STANDBY_RUNTIMES.join(','))
    .transform((list) => list.split(',').filter(Boolean))
    .pipe(z.array(z.enum(STANDBY_RUNTIMES))),
});

export interface AgentSettings {
  host: string;
  invokePort: number;
  runtimeApiPort: number;
  taskRoot: string;
  optRoot: string;
  runtimeDir: string;
  functionJson: string | undefined;
  /** Where an image function's launcher and its sockets live (container-runtime.ts). */
  launcher: { dir: string; binary: string; expectedFile: string };
  memoryCgroup: string | undefined;
  initTimeoutMs: number;
  nodeBin: string;
  pythonBin: string;
  memorySampleMs: number;
  /** Runtimes to start before their function, and their memory size (warm pool only). */
  standby: { runtimes: (typeof STANDBY_RUNTIMES)[number][]; memorySize: number } | undefined;
  /** Variables from the function's Secrets, attached by the gateway as `LAMINA_SECRET_<KEY>`. */
  secretEnvironment: Record<string, string>;
}

const SECRET_PREFIX = 'LAMINA_SECRET_';

/** The function's Secret values with the prefix the pod spec gave them removed. */
export function secretEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env)
      .filter(
        (entry): entry is [string, string] => entry[0].startsWith(SECRET_PREFIX) && entry[1] !== undefined,
      )
      .map(([key, value]) => [key.slice(SECRET_PREFIX.length), value]),
  );
}

/** Reads settings or throws an Error naming the offending variable. */
export function readSettings(env: NodeJS.ProcessEnv): AgentSettings {
  const parsed = settingsSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`invalid agent settings: ${problems.join('; ')}`);
  }
  const s = parsed.data;
  return {
    host: s.LAMINA_AGENT_HOST,
    invokePort: s.LAMINA_AGENT_PORT,
    runtimeApiPort: s.LAMINA_RUNTIME_API_PORT,
    taskRoot: s.LAMINA_TASK_ROOT,
    optRoot: s.LAMINA_OPT_ROOT,
    runtimeDir: s.LAMINA_RUNTIME_DIR,
    functionJson: s.LAMINA_FUNCTION,
    launcher: {
      dir: s.LAMINA_LAUNCH_DIR,
      binary: s.LAMINA_LAUNCHER,
      expectedFile: s.LAMINA_RUNTIME_EXPECTED_FILE,
    },
    memoryCgroup: s.LAMINA_MEMORY_CGROUP,
    initTimeoutMs: s.LAMINA_INIT_TIMEOUT_MS,
    nodeBin: s.LAMINA_NODE_BIN,
    pythonBin: s.LAMINA_PYTHON_BIN,
    memorySampleMs: s.LAMINA_MEMORY_SAMPLE_MS,
    standby:
      s.LAMINA_STANDBY_MEMORY_SIZE === undefined || s.LAMINA_STANDBY_RUNTIMES.length === 0
        ? undefined
        : { runtimes: s.LAMINA_STANDBY_RUNTIMES, memorySize: s.LAMINA_STANDBY_MEMORY_SIZE },
    secretEnvironment: secretEnvironment(env),
  };
}
