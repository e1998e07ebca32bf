// What the runtime process is started with: command line, environment and working
// directory [LAMBDA-SPEC §3]. Pure, so the variable rules are unit-tested without a process.
import type { FunctionConfig } from './config.js';

export interface RuntimeLayout {
  taskRoot: string;
  optRoot: string;
  runtimeDir: string;
  nodeBin: string;
  pythonBin: string;
}

export interface RuntimeLaunch {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
}

/** An init failure decided before any process exists (no bootstrap to run). */
export interface LaunchFailure {
  errorType: string;
  errorMessage: string;
}

/** Lambda's stream names look like `2024/01/31/[$LATEST]<32 hex>`. */
export function logStreamName(version: string, now: Date, randomHex: string): string {
  const day = now.toISOString().slice(0, 10).replace(/-/g, '/');
  return `${day}/[${version}]${randomHex}`;
}

/** The Node.js major of a `nodejs<major>.x` identifier (layers' `nodejs/node<major>` path). */
function nodeMajor(runtime: string | undefined): string {
  return /^nodejs(\d+)\.x$/.exec(runtime ?? '')?.[1] ?? '20';
}

/** Unreserved platform variables: the user may replace these wholesale, as on Lambda. */
function platformDefaults(
  { taskRoot: task, optRoot: opt, runtimeDir: rt }: RuntimeLayout,
  runtime?: FunctionConfig['runtime'],
): Record<string, string> {
  const node = nodeMajor(runtime);
  return {
    PATH: `/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:${opt}/bin`,
    LD_LIBRARY_PATH: `/var/lang/lib:/lib64:/usr/lib64:${rt}:${rt}/lib:${task}:${task}/lib:${opt}/lib`,
    NODE_PATH: `${opt}/nodejs/node${node}/node_modules:${opt}/nodejs/node_modules:${rt}/node_modules:${rt}:${task}`,
    PYTHONPATH: rt,
    LANG: 'en_US.UTF-8',
  };
}

export function runtimeEnvironment(
  config: FunctionConfig,
  layout: RuntimeLayout,
  runtimeApiAddress: string,
  streamName: string,
  secrets: Record<string, string> = {},
): Record<string, string> {
  const { taskRoot: task, optRoot: opt, runtimeDir: rt } = layout;
  const defaults = platformDefaults(layout, config.runtime);
  const reserved: Record<string, string> = {
    _HANDLER: config.handler ?? '',
    AWS_LAMBDA_FUNCTION_NAME: config.functionName,
    AWS_LAMBDA_FUNCTION_VERSION: config.version,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(config.memorySize),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${config.functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: streamName,
    AWS_LAMBDA_RUNTIME_API: runtimeApiAddress,
    AWS_LAMBDA_INITIALIZATION_TYPE: config.initializationType,
    AWS_REGION: config.region,
    AWS_DEFAULT_REGION: config.region,
    AWS_EXECUTION_ENV: `AWS_Lambda_${config.runtime}`,
    LAMBDA_TASK_ROOT: task,
    LAMBDA_RUNTIME_DIR: rt,
    TZ: ':UTC',
  };
  // Secret values come first so a plain variable of the same name wins; reserved names
  // are the platform's whatever a Secret holds.
  const env = { ...defaults, ...secrets, ...config.environment, ...reserved };
  // The Python client finds layer paths under /opt; tell it only when that moved (tests).
  if (config.runtime.startsWith('python') && opt !== '/opt') env.LAMINA_OPT_ROOT = opt;
  return env;
}

// ---- Standby runtimes -------------------------------------------------------------------
//
// A generic (warm pool) environment starts the Node.js and Python runtime clients before any
// function is known. Each loads the interpreter and its own modules, then blocks reading its
// stdin. The agent hands the one it needs the function's environment and working directory;
// the client replaces its whole environment with it, and only then loads the handler and
// talks to the Runtime API. The runtimes' start-up leaves the cold start's critical path.

/** Runtimes whose client can be started before its function is known. */
export const STANDBY_RUNTIMES = ['nodejs20.x', 'python3.13'] as const;

/** The environment a standby starts with: the platform's defaults and nothing of a function. */
export function standbyEnvironment(layout: RuntimeLayout, runtimeApiAddress: string): Record<string, string> {
  return {
    ...platformDefaults(layout),
    TZ: ':UTC',
    AWS_LAMBDA_RUNTIME_API: runtimeApiAddress,
    LAMBDA_TASK_ROOT: layout.taskRoot,
    LAMBDA_RUNTIME_DIR: layout.runtimeDir,
    LAMINA_STANDBY: '1',
  };
}

// Read once, when a process starts (the dynamic loader, allocator and interpreter options,
// locale, time zone, an exec wrapper): a standby started with other values than the
// function's cannot take it. NODE_PATH is the exception: the Node.js client re-reads it.
const STARTUP_PREFIXES = ['LD_', 'MALLOC_', 'GLIBC_', 'NODE_', 'UV_', 'PYTHON', 'LC_'];
const STARTUP_NAMES = new Set(['LANG', 'LANGUAGE', 'TZ', 'AWS_LAMBDA_EXEC_WRAPPER', 'OPENSSL_CONF']);
const READ_AGAIN = new Set(['NODE_PATH']);

function readAtStartup(name: string): boolean {
  if (READ_AGAIN.has(name)) return false;
  return STARTUP_NAMES.has(name) || STARTUP_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/** True when a standby started with `standbyEnv` behaves exactly as if started with `functionEnv`. */
export function standbyCanTake(
  standbyEnv: Record<string, string>,
  functionEnv: Record<string, string>,
): boolean {
  for (const name of new Set([...Object.keys(standbyEnv), ...Object.keys(functionEnv)])) {
    if (readAtStartup(name) && standbyEnv[name] !== functionEnv[name]) return false;
  }
  return true;
}

/**
 * V8 is told about the memory size so it collects garbage before the limit instead of being
 * killed at it. Same split as Lambda's Node.js bootstrap: a tenth for new space (half of it
 * per semi-space), the rest for old space.
 */
function nodeArgs(memorySize: number): string[] {
  const newSpace = Math.floor(memorySize / 10);
  return [
    '--expose-gc',
    '--max-http-header-size=81920',
    `--max-semi-space-size=${Math.max(1, Math.floor(newSpace / 2))}`,
    `--max-old-space-size=${memorySize - newSpace}`,
  ];
}

/**
 * Lambda's JVM options for java17/java21: the heap from the memory size (85%, the rest for
 * metaspace, code cache and thread stacks), serial GC and C1 only (start-up over peak
 * throughput), the default class-data-sharing archive when the JRE has one.
 */
export function javaArgs(memorySize: number, runtimeDir: string, handler: string): string[] {
  return [
    `-XX:MaxHeapSize=${Math.floor(memorySize * 1024 * 0.85)}k`,
    '-XX:+UseSerialGC',
    '-Xshare:auto',
    '-XX:+TieredCompilation',
    '-XX:TieredStopAtLevel=1',
    '--add-opens=java.base/java.io=ALL-UNNAMED',
    '-Djava.net.preferIPv4Stack=true',
    '-XX:+ErrorFileToStderr',
    '-classpath',
    `${runtimeDir}/lib/*`,
    'com.amazonaws.services.lambda.runtime.api.client.AWSLambda',
    handler,
  ];
}

export function runtimeLaunch(
  config: Pick<FunctionConfig, 'runtime' | 'memorySize'> & { handler?: string },
  layout: RuntimeLayout,
  env: Record<string, string>,
  isFile: (path: string) => boolean,
): RuntimeLaunch | LaunchFailure {
  const cwd = layout.taskRoot;
  // Each image carries one Node.js and one Python line: `node` and `python3` are the ones
  // its runtime identifiers name (the gateway picks the image by identifier).
  switch (config.runtime) {
    case 'nodejs18.x':
    case 'nodejs20.x':
    case 'nodejs24.x':
      return {
        command: layout.nodeBin,
        args: [...nodeArgs(config.memorySize), `${layout.runtimeDir}/node/index.mjs`],
        env,
        cwd,
      };
    case 'python3.11':
    case 'python3.13':
    case 'python3.14':
      return { command: layout.pythonBin, args: [`${layout.runtimeDir}/python/bootstrap.py`], env, cwd };
    case 'java17':
    case 'java21':
      // The JVM from PATH (/usr/bin/java in the Java images).
      return {
        command: 'java',
        args: javaArgs(config.memorySize, layout.runtimeDir, config.handler ?? ''),
        env,
        cwd,
      };
    case 'provided':
    case 'provided.al2023': {
      const candidates = [`${layout.taskRoot}/bootstrap`, `${layout.optRoot}/bootstrap`];
      const bootstrap = candidates.find(isFile);
      if (bootstrap === undefined) {
        return {
          errorType: 'Runtime.InvalidEntrypoint',
          errorMessage: `Couldn't find valid bootstrap(s): [${candidates.join(' ')}]`,
        };
      }
      return { command: bootstrap, args: [], env, cwd };
    }
  }
}
