// The execution environment: one function, one runtime process, one invocation at a time.
// It drives Lambda's lifecycle [LAMBDA-SPEC §6-7]: Init (runtime start until its first
// /next), Invoke (event out, result back, within the timeout), and Reset (after a timeout or
// a crash the runtime is killed and the next invoke runs Init again; /tmp is kept).
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { installArtifacts } from './artifacts.js';
import type { Clock } from './clock.js';
import { parseFunctionConfig, type FunctionConfig } from './config.js';
import {
  AlreadySpecializedError,
  EnvironmentBusyError,
  NotSpecializedError,
  SpecializationInProgressError,
} from './errors.js';
import { encodePayload, platformError, responseTooLarge, timedOut } from './function-errors.js';
import {
  agentLog,
  endLine,
  FunctionLog,
  initReportLine,
  initStartLine,
  reportLine,
  setLogContext,
  startLine,
  timeoutLine,
} from './logs.js';
import { CgroupMemoryWatch, ProcMemoryWatch, type MemoryWatch } from './memory.js';
import { RuntimeApi, type RuntimeApiEvents, type RuntimeOutcome } from './runtime-api.js';
import { logStreamName, runtimeEnvironment, runtimeLaunch } from './runtime-env.js';
import { describeExit, RuntimeProcess, type ExitInfo } from './runtime-process.js';
import type { AgentSettings } from './settings.js';

export type EnvironmentState = 'generic' | 'initializing' | 'ready' | 'failed';

/** An Init failure, kept until an invoke reports it. */
type InitFailure =
  | { source: 'runtime'; body: Buffer; errorType: string }
  | { source: 'platform'; errorType: string; reason: string; status: 'error' | 'timeout' };

type InitResult = { ok: true; durationMs: number } | { ok: false; durationMs: number; failure: InitFailure };

type InitEvent =
  | { kind: 'ready' }
  | { kind: 'initError'; body: Buffer; errorType?: string }
  | { kind: 'exit'; exit: ExitInfo }
  | { kind: 'timeout' };

type InvocationEnd = RuntimeOutcome | { kind: 'timeout' } | { kind: 'exit'; exit: ExitInfo };

export interface InvokeRequest {
  requestId: string;
  body: Buffer;
  contentType: string;
  logTail: boolean;
  invokedFunctionArn?: string;
  clientContext?: string;
  traceId?: string;
}

export interface InvokeResult {
  body: Buffer;
  contentType: string;
  functionError: boolean;
  executedVersion: string;
  logTail?: Buffer;
  /** Set on the first invoke after an Init (the one that "paid" for it). */
  initDurationMs?: number;
  /** The runtime was killed or died during this invoke (or, idle, since the last one). */
  environmentReset: boolean;
}

export interface SpecializeResult {
  state: 'ready' | 'failed';
  initDurationMs: number;
  artifactsDurationMs: number;
  initError?: { errorType: string; errorMessage: string };
}

const OOM_SHARE_OF_LIMIT = 0.9;

export class ExecutionEnvironment implements RuntimeApiEvents {
  readonly api = new RuntimeApi(this);
  private state: EnvironmentState = 'generic';
  private config: FunctionConfig | undefined;
  private runtime: RuntimeProcess | undefined;
  private runtimeApiAddress = '';
  private streamName = '';
  private busy = false;
  private specializing: Promise<unknown> | undefined;
  private pendingInitFailure: InitFailure | undefined;
  private unreportedInitMs: number | undefined;
  private resetPending = false;
  private initWaiter: ((event: InitEvent) => void) | undefined;
  private active: { requestId: string; end: (end: InvocationEnd) => void } | undefined;
  private readonly log = new FunctionLog();

  constructor(
    private readonly settings: AgentSettings,
    private readonly clock: Clock,
  ) {}

  async listen(): Promise<number> {
    const port = await this.api.listen(this.settings.runtimeApiPort);
    this.runtimeApiAddress = `127.0.0.1:${port}`;
    return port;
  }

  health(): { status: number; body: Record<string, unknown> } {
    const body: Record<string, unknown> = { state: this.state, busy: this.busy };
    if (this.config) {
      Object.assign(body, {
        functionName: this.config.functionName,
        version: this.config.version,
        runtime: this.config.runtime,
      });
    }
    return { status: this.state === 'initializing' ? 503 : 200, body };
  }

  // ---- specialisation -------------------------------------------------------------------

  async specialize(input: unknown): Promise<SpecializeResult> {
    if (this.state === 'initializing') throw new SpecializationInProgressError();
    if (this.config) throw new AlreadySpecializedError(this.config.functionName);
    const config = parseFunctionConfig(input);
    this.state = 'initializing';
    this.config = config;
    const work = this.install(config);
    this.specializing = work.then(
      () => (this.specializing = undefined),
      () => (this.specializing = undefined),
    );
    return work;
  }

  private async install(config: FunctionConfig): Promise<SpecializeResult> {
    setLogContext({
      functionName: config.functionName,
      version: config.version,
      namespace: config.namespace,
    });
    this.streamName = logStreamName(
      config.version,
      new Date(this.clock.now()),
      randomBytes(16).toString('hex'),
    );
    const started = this.clock.monotonic();
    try {
      const { unzippedBytes } = await installArtifacts(config, this.settings);
      agentLog('info', 'artifacts installed', { unzippedBytes, layers: config.layers.length });
    } catch (err) {
      this.state = 'generic';
      this.config = undefined;
      agentLog('warn', 'specialisation failed', { error: String((err as Error)?.message ?? err) });
      throw err;
    }
    const artifactsDurationMs = this.clock.monotonic() - started;
    const init = await this.init();
    this.unreportedInitMs = init.durationMs;
    if (init.ok) {
      this.state = 'ready';
      return { state: 'ready', initDurationMs: init.durationMs, artifactsDurationMs };
    }
    this.state = 'failed';
    this.pendingInitFailure = init.failure;
    return {
      state: 'failed',
      initDurationMs: init.durationMs,
      artifactsDurationMs,
      initError: describeFailure(init.failure),
    };
  }

  // ---- Init ------------------------------------------------------------------------------

  private memoryWatch(config: FunctionConfig): MemoryWatch {
    if (!this.settings.memoryCgroup) return new ProcMemoryWatch();
    try {
      return new CgroupMemoryWatch(this.settings.memoryCgroup, config.memorySize * 1024 * 1024);
    } catch (err) {
      agentLog('warn', 'cannot create memory cgroup; running without a limit', { error: String(err) });
      return new ProcMemoryWatch();
    }
  }

  /** Starts the runtime and waits until it polls /next, reports an init error, dies or runs out of time. */
  private async init(): Promise<InitResult> {
    const config = this.config as FunctionConfig;
    const started = this.clock.monotonic();
    this.api.newGeneration();
    this.log.platformLine(initStartLine(config.runtime));
    const env = runtimeEnvironment(config, this.settings, this.runtimeApiAddress, this.streamName);
    const launch = runtimeLaunch(config, this.settings, env, isFile);
    if ('errorType' in launch) {
      const failure: InitFailure = {
        source: 'platform',
        errorType: launch.errorType,
        reason: launch.errorMessage,
        status: 'error',
      };
      return this.initFailed(failure, started);
    }
    const memory = this.memoryWatch(config);
    const event = await new Promise<InitEvent>((resolve) => {
      const timer = setTimeout(() => resolve({ kind: 'timeout' }), this.settings.initTimeoutMs);
      this.initWaiter = (e) => {
        clearTimeout(timer);
        this.initWaiter = undefined;
        resolve(e);
      };
      const proc = new RuntimeProcess(launch, memory, (chunk) => this.log.runtimeOutput(chunk));
      this.runtime = proc;
      void proc.exited.then((exit) => this.onRuntimeExit(proc, exit));
    });
    this.initWaiter = undefined;
    const durationMs = this.clock.monotonic() - started;
    if (event.kind === 'ready') return { ok: true, durationMs };

    const proc = this.runtime as RuntimeProcess;
    this.runtime = undefined; // detach first: the kill below is not a crash to report
    const exit = event.kind === 'exit' ? event.exit : await proc.kill();
    await proc.closed;
    let failure: InitFailure;
    if (event.kind === 'initError') {
      failure = {
        source: 'runtime',
        body: event.body,
        errorType: event.errorType ?? errorTypeOf(event.body),
      };
    } else if (event.kind === 'timeout') {
      const reason = `Init timed out after ${(this.settings.initTimeoutMs / 1000).toFixed(2)} seconds`;
      failure = { source: 'platform', errorType: 'Runtime.Unknown', reason, status: 'timeout' };
    } else {
      failure = {
        source: 'platform',
        errorType: classifyDeath(exit, memory, config, ''),
        reason: describeExit(exit),
        status: 'error',
      };
    }
    await memory.dispose();
    return this.initFailed(failure, started);
  }

  private initFailed(failure: InitFailure, started: number): InitResult {
    const durationMs = this.clock.monotonic() - started;
    const status = failure.source === 'platform' ? failure.status : 'error';
    this.log.platformLine(initReportLine(durationMs, status, failure.errorType));
    agentLog('warn', 'init failed', { errorType: failure.errorType });
    return { ok: false, durationMs, failure };
  }

  // ---- Runtime API events ----------------------------------------------------------------

  onReady(): void {
    this.initWaiter?.({ kind: 'ready' });
  }

  onInitError(body: Buffer, errorType: string | undefined): void {
    this.initWaiter?.({ kind: 'initError', body, errorType });
  }

  onOutcome(requestId: string, outcome: RuntimeOutcome): void {
    if (this.active?.requestId === requestId) this.active.end(outcome);
  }

  private onRuntimeExit(proc: RuntimeProcess, exit: ExitInfo): void {
    if (proc !== this.runtime) return; // killed on purpose, already accounted for
    if (this.initWaiter) return this.initWaiter({ kind: 'exit', exit });
    if (this.active) return this.active.end({ kind: 'exit', exit });
    // Died between invocations (e.g. the Node client exits 129 after a fatal error).
    this.runtime = undefined;
    this.resetPending = true;
    void proc.memory.dispose();
    agentLog('warn', 'runtime exited while idle', { reason: describeExit(exit) });
  }

  // ---- Invoke ----------------------------------------------------------------------------

  /** Claims the environment synchronously, so a concurrent invoke is refused before its body is read. */
  claim(): () => void {
    if (this.state === 'generic') throw new NotSpecializedError();
    if (this.busy) throw new EnvironmentBusyError();
    this.busy = true;
    return () => {
      this.busy = false;
    };
  }

  /** Runs one invocation; the caller holds the claim. */
  async invoke(request: InvokeRequest): Promise<InvokeResult> {
    if (this.specializing) await this.specializing;
    const config = this.config;
    if (!config) throw new NotSpecializedError();
    let initDurationMs = this.unreportedInitMs;
    this.unreportedInitMs = undefined;
    if (this.runtime && !this.api.isPolling()) await this.awaitRuntimePoll(config);
    const environmentReset = this.resetPending;
    this.resetPending = false;
    const base = { executedVersion: config.version, environmentReset };

    const recorded = this.pendingInitFailure;
    this.pendingInitFailure = undefined;
    if (recorded) return this.failedInit(request, config, recorded, initDurationMs, base);
    if (!this.runtime) {
      // Suppressed init: the runtime is (re)started inside this invoke, as Lambda retries Init.
      const init = await this.init();
      initDurationMs = init.durationMs;
      if (!init.ok) {
        this.state = 'failed';
        return this.failedInit(request, config, init.failure, initDurationMs, base);
      }
      this.state = 'ready';
    }
    return this.run(request, config, initDurationMs, base);
  }

  /**
   * An environment is free again only once its runtime polls /next, as on Lambda. A runtime
   * that posts its result and then exits (the Node client after a fatal error) or never
   * polls again within the timeout is reset instead, and this invoke runs Init afresh.
   */
  private async awaitRuntimePoll(config: FunctionConfig): Promise<void> {
    const proc = this.runtime as RuntimeProcess;
    let timer: NodeJS.Timeout | undefined;
    const polled = await Promise.race([
      this.api.waitForPoll().then(() => true),
      proc.exited.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), config.timeout * 1000))),
    ]);
    clearTimeout(timer);
    if (polled || this.runtime !== proc) return; // polled, or its exit was handled as an idle death
    this.runtime = undefined;
    this.resetPending = true;
    await proc.kill();
    await proc.memory.dispose();
    agentLog('warn', 'runtime never asked for the next invocation; reset');
  }

  private failedInit(
    request: InvokeRequest,
    config: FunctionConfig,
    failure: InitFailure,
    initDurationMs: number | undefined,
    base: { executedVersion: string; environmentReset: boolean },
  ): InvokeResult {
    this.log.beginCapture();
    this.log.platformLine(startLine(request.requestId, config.version));
    const body =
      failure.source === 'runtime'
        ? failure.body
        : encodePayload(platformError(request.requestId, failure.errorType, failure.reason));
    this.log.platformLine(endLine(request.requestId));
    this.log.platformLine(
      reportLine({
        requestId: request.requestId,
        durationMs: 0,
        memorySizeMb: config.memorySize,
        maxMemoryUsedBytes: 0,
        initDurationMs,
        status: 'error',
        errorType: failure.errorType,
      }),
    );
    const tail = this.log.endCapture();
    return {
      ...base,
      body,
      contentType: 'application/json',
      functionError: true,
      initDurationMs,
      logTail: request.logTail ? tail : undefined,
    };
  }

  private async run(
    request: InvokeRequest,
    config: FunctionConfig,
    initDurationMs: number | undefined,
    base: { executedVersion: string; environmentReset: boolean },
  ): Promise<InvokeResult> {
    const proc = this.runtime as RuntimeProcess;
    const { requestId } = request;
    this.log.beginCapture();
    this.log.platformLine(startLine(requestId, config.version));
    const started = this.clock.monotonic();
    const end = await new Promise<InvocationEnd>((resolve) => {
      const timer = setTimeout(() => resolve({ kind: 'timeout' }), config.timeout * 1000);
      const sampler = setInterval(() => proc.memory.sample(true), this.settings.memorySampleMs);
      this.active = {
        requestId,
        end: (e) => {
          clearTimeout(timer);
          clearInterval(sampler);
          this.active = undefined;
          resolve(e);
        },
      };
      this.api.deliver({
        requestId,
        body: request.body.length > 0 ? request.body : Buffer.from('{}'),
        contentType: request.contentType,
        deadlineMs: this.clock.now() + config.timeout * 1000,
        invokedFunctionArn: request.invokedFunctionArn ?? config.functionArn,
        traceId: request.traceId,
        clientContext: request.clientContext,
      });
    });
    this.active = undefined;
    const durationMs = this.clock.monotonic() - started;
    let result: Omit<InvokeResult, 'executedVersion' | 'environmentReset'>;
    let status: 'timeout' | 'error' | undefined;
    let errorType: string | undefined;
    let reset = base.environmentReset;

    if (end.kind === 'response') {
      result = { body: end.body, contentType: end.contentType ?? 'application/json', functionError: false };
    } else if (end.kind === 'error') {
      result = {
        body: errorBody(end.body, end.errorType),
        contentType: 'application/json',
        functionError: true,
      };
    } else if (end.kind === 'tooLarge') {
      result = {
        body: encodePayload(responseTooLarge()),
        contentType: 'application/json',
        functionError: true,
      };
    } else {
      // Timeout or crash: the platform ends the invocation and resets the environment.
      this.api.abandon();
      this.runtime = undefined;
      reset = true;
      const exit = end.kind === 'exit' ? end.exit : await proc.kill();
      await Promise.race([proc.closed, new Promise((r) => setTimeout(r, 200))]);
      if (end.kind === 'timeout') {
        status = 'timeout';
        errorType = 'Sandbox.Timedout';
        this.log.platformLine(timeoutLine(new Date(this.clock.now()), requestId, config.timeout));
        result = {
          body: encodePayload(timedOut(requestId, config.timeout)),
          contentType: 'application/json',
          functionError: true,
        };
      } else {
        status = 'error';
        errorType = classifyDeath(exit, proc.memory, config, this.log.peekCapture());
        const payload = platformError(requestId, errorType, describeExit(exit));
        this.log.platformLine(`${payload.errorMessage}\n${errorType}`);
        result = { body: encodePayload(payload), contentType: 'application/json', functionError: true };
      }
      agentLog('warn', 'environment reset', { requestId, errorType });
    }

    // Output the runtime wrote just before answering can still sit in the pipe: one turn of
    // the event loop lets it land in this invocation's log before END.
    await nextTurn();
    proc.memory.sample();
    this.log.platformLine(endLine(requestId));
    this.log.platformLine(
      reportLine({
        requestId,
        durationMs,
        memorySizeMb: config.memorySize,
        maxMemoryUsedBytes: proc.memory.peakBytes(),
        initDurationMs,
        status,
        errorType,
      }),
    );
    const tail = this.log.endCapture();
    if (reset) await proc.memory.dispose();
    return {
      ...result,
      executedVersion: base.executedVersion,
      environmentReset: reset,
      initDurationMs,
      logTail: request.logTail ? tail : undefined,
    };
  }

  async shutdown(): Promise<void> {
    const proc = this.runtime;
    this.runtime = undefined;
    if (proc) {
      await proc.shutdown(2000);
      await proc.memory.dispose();
    }
    this.api.close();
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function errorTypeOf(body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { errorType?: unknown };
    return typeof parsed.errorType === 'string' ? parsed.errorType : 'Runtime.Unknown';
  } catch {
    return 'Runtime.Unknown';
  }
}

/** The runtime's error document passes through; an empty one is filled in from the header. */
function errorBody(body: Buffer, errorType: string | undefined): Buffer {
  if (body.length > 0) return body;
  return encodePayload({ errorType: errorType ?? 'Runtime.Unknown', errorMessage: '' });
}

function describeFailure(failure: InitFailure): { errorType: string; errorMessage: string } {
  if (failure.source === 'platform') return { errorType: failure.errorType, errorMessage: failure.reason };
  try {
    const parsed = JSON.parse(failure.body.toString('utf8')) as { errorMessage?: unknown };
    return { errorType: failure.errorType, errorMessage: String(parsed.errorMessage ?? '') };
  } catch {
    return { errorType: failure.errorType, errorMessage: failure.body.toString('utf8') };
  }
}

/**
 * Out-of-memory rule (documented in the README): the runtime died of SIGKILL that the agent did
 * not send and either the kernel's OOM counter moved (our cgroup, or the container's) or its
 * observed peak reached 90% of the memory size; or V8 aborted with "heap out of memory".
 */
export function classifyDeath(
  exit: ExitInfo,
  memory: MemoryWatch,
  config: FunctionConfig,
  recentOutput: string,
): string {
  if (exit.spawnError) return 'Runtime.InvalidEntrypoint';
  const limit = config.memorySize * 1024 * 1024;
  if (exit.signal === 'SIGKILL' && (memory.oomKilled() || memory.peakBytes() >= OOM_SHARE_OF_LIMIT * limit)) {
    return 'Runtime.OutOfMemory';
  }
  if (exit.signal === 'SIGABRT' && /heap out of memory/.test(recentOutput)) return 'Runtime.OutOfMemory';
  return 'Runtime.ExitError';
}
