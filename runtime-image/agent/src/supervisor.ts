// The runtime side of an environment: the Runtime API server and the one runtime process
// behind it. It runs Init (start until the first /next), hands one invocation at a time to the
// runtime and waits for its end (result, error, timeout, death), and resets the runtime after
// a timeout or a crash. What the gateway sees (states, payloads, log framing) is the
// environment's business (environment.ts).
import { statSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Clock } from './clock.js';
import type { FunctionConfig } from './config.js';
import { externalExtensions, startExtensions, type ExtensionProcess } from './extension-processes.js';
import { ExtensionsApi, type ExtensionsApiEvents, type ShutdownReason } from './extensions-api.js';
import { agentLog, initReportLine, initStartLine, type FunctionLog } from './logs.js';
import { CgroupMemoryWatch, ProcMemoryWatch, type MemoryWatch } from './memory.js';
import { RuntimeApi, type Invocation, type RuntimeApiEvents, type RuntimeOutcome } from './runtime-api.js';
import {
  runtimeEnvironment,
  runtimeLaunch,
  standbyCanTake,
  standbyEnvironment,
  type RuntimeLaunch,
} from './runtime-env.js';
import { ContainerRuntime, ImageLauncher } from './container-runtime.js';
import {
  classifyDeath,
  describeExit,
  RuntimeProcess,
  type ExitInfo,
  type RuntimeHandle,
} from './runtime-process.js';
import type { AgentSettings } from './settings.js';
import { platformRecords } from './telemetry.js';
import { TelemetryHub } from './telemetry-hub.js';

/** An Init failure: the runtime's own report, or one the platform diagnosed. */
export type InitFailure =
  | { source: 'runtime'; body: Buffer; errorType: string }
  | { source: 'platform'; errorType: string; reason: string; status: 'error' | 'timeout' };

export type InitResult =
  { ok: true; durationMs: number } | { ok: false; durationMs: number; failure: InitFailure };

type InitEvent =
  | { kind: 'ready' }
  /** An extension failed Init: it exited, or called /init/error or /exit/error. */
  | { kind: 'extension'; errorType: string; reason: string }
  | { kind: 'initError'; body: Buffer; errorType?: string }
  | { kind: 'exit'; exit: ExitInfo }
  | { kind: 'timeout' };

export type InvocationEnd =
  RuntimeOutcome | { kind: 'timeout' } | { kind: 'exit'; reason: string; errorType: string };

export interface InvocationReport {
  end: InvocationEnd;
  durationMs: number;
  maxMemoryUsedBytes: number;
  /** The runtime was killed or died: the next invoke runs Init. */
  reset: boolean;
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

interface Standby {
  proc: RuntimeProcess;
  env: Record<string, string>;
  memorySize: number;
  /** It made its warm-up round trip and now blocks waiting for its function. */
  parked: boolean;
}

/** Lambda's Shutdown allowance: 2 s with external extensions, 500 ms with internal ones only. */
const SHUTDOWN_GRACE_MS = { external: 2000, internal: 500 };

/** The account id in a function ARN (`arn:aws:lambda:<region>:<account>:function:<name>`). */
const accountIdOf = (arn: string) => arn.split(':')[4] ?? '';

export class RuntimeSupervisor implements RuntimeApiEvents, ExtensionsApiEvents {
  /** Telemetry / Logs API subscribers and what they are sent. */
  readonly telemetry: TelemetryHub;
  private readonly extensions: ExtensionsApi;
  private readonly api: RuntimeApi;
  private extensionProcs: ExtensionProcess[] = [];
  /** An extension failed after Init: the environment is reset at the end of the invoke. */
  private extensionFailure: { errorType: string; reason: string } | undefined;
  /** Extensions of a reset environment still receiving their SHUTDOWN. */
  private stoppingExtensions: Promise<void> = Promise.resolve();
  private proc: RuntimeHandle | undefined;
  /** Image functions: the launcher in the function's container (started with the first Init). */
  private launcher: Promise<ImageLauncher> | undefined;
  private address = '';
  private initWaiter: ((event: InitEvent) => void) | undefined;
  private active:
    | {
        requestId: string;
        end: (end: RuntimeOutcome | { kind: 'timeout' } | { kind: 'exit'; exit: ExitInfo }) => void;
      }
    | undefined;
  private diedWhileIdle = false;
  /** Runtimes started before their function (warm pool), by runtime name. */
  private readonly standbys = new Map<string, Standby>();

  constructor(
    private readonly settings: AgentSettings,
    private readonly clock: Clock,
    private readonly log: FunctionLog,
  ) {
    this.telemetry = new TelemetryHub(clock);
    this.extensions = new ExtensionsApi(this.telemetry, this);
    this.api = new RuntimeApi(this, this.extensions);
    log.onLine(
      (source, line) => this.telemetry.emit(source, line),
      () => this.telemetry.active,
    );
  }

  async listen(): Promise<number> {
    const port = await this.api.listen(this.settings.runtimeApiPort);
    this.address = `127.0.0.1:${port}`;
    return port;
  }

  get running(): boolean {
    return this.proc !== undefined;
  }

  /** True once after the runtime died (or was reset) outside an invocation. */
  takeIdleDeath(): boolean {
    const died = this.diedWhileIdle;
    this.diedWhileIdle = false;
    return died;
  }

  private memoryWatch(memorySize: number): MemoryWatch {
    const limitBytes = memorySize * 1024 * 1024;
    if (!this.settings.memoryCgroup) return new ProcMemoryWatch(limitBytes);
    try {
      return new CgroupMemoryWatch(this.settings.memoryCgroup, limitBytes);
    } catch (err) {
      agentLog('warn', 'cannot create memory cgroup; the limit is enforced by sampling', {
        error: String(err),
      });
      return new ProcMemoryWatch(limitBytes);
    }
  }

  /**
   * Starts a runtime client of each kind in `runtimes` with no function yet (a generic
   * environment of `memorySize`); `init` hands the matching one its function.
   */
  startStandbys(runtimes: readonly FunctionConfig['runtime'][], memorySize: number): void {
    for (const runtime of runtimes) {
      const env = standbyEnvironment(this.settings, this.address);
      const launch = runtimeLaunch({ runtime, memorySize }, this.settings, env, isFile) as RuntimeLaunch;
      // The task root may not exist yet: the hand-over changes to it.
      const proc = new RuntimeProcess({ ...launch, cwd: '/' }, this.memoryWatch(memorySize), this.log, true);
      const standby: Standby = { proc, env, memorySize, parked: false };
      this.standbys.set(runtime, standby);
      agentLog('info', 'standby runtime started', { runtime, pid: proc.pid });
      // One that never parks would hold the environment unready: it goes after the Init limit.
      const timer = setTimeout(() => {
        if (standby.parked || this.standbys.get(runtime) !== standby) return;
        agentLog('warn', 'standby runtime did not park in time; killed', { runtime });
        void proc.kill();
      }, this.settings.initTimeoutMs);
      void proc.exited.then((exit) => {
        clearTimeout(timer);
        if (this.standbys.get(runtime)?.proc !== proc) return; // handed over or dismissed
        this.standbys.delete(runtime);
        void proc.memory.dispose();
        agentLog('warn', 'standby runtime exited', { runtime, reason: describeExit(exit) });
      });
    }
  }

  /**
   * The standby that can run `config` with `env`, if one is waiting. An environment belongs
   * to one function for life, so every other standby is dismissed.
   */
  private takeStandby(config: FunctionConfig, env: Record<string, string>): RuntimeProcess | undefined {
    const match = this.standbys.get(config.runtime);
    const usable =
      match?.proc.alive && match.memorySize === config.memorySize && standbyCanTake(match.env, env)
        ? match.proc
        : undefined;
    this.dismissStandbys(usable);
    if (usable)
      agentLog('info', 'standby runtime takes the function', { runtime: config.runtime, pid: usable.pid });
    return usable;
  }

  /** True once every standby runtime waits for its function (or there are none). */
  standbysParked(): boolean {
    return [...this.standbys.values()].every((s) => s.parked);
  }

  onPing(pid: number): void {
    for (const [runtime, standby] of this.standbys) {
      if (standby.proc.pid !== pid || standby.parked) continue;
      standby.parked = true;
      agentLog('info', 'standby runtime parked', { runtime, pid });
    }
  }

  private dismissStandbys(keep?: RuntimeProcess): void {
    for (const { proc } of this.standbys.values()) {
      if (proc !== keep) void proc.kill().then(() => proc.memory.dispose());
    }
    this.standbys.clear();
  }

  /**
   * Init, as Lambda orders it: the external extensions start and each registers; then the
   * runtime starts; Init is over once the runtime polls /next and every extension waits on
   * /event/next. It fails on the runtime's /init/error, its exit, an extension's exit or
   * error report, or the Init limit.
   */
  async init(config: FunctionConfig, streamName: string): Promise<InitResult> {
    await this.stoppingExtensions;
    const started = this.clock.monotonic();
    this.api.newGeneration();
    this.telemetry.beginInit();
    this.extensionFailure = undefined;
    this.log.platformLine(initStartLine(config.runtime));
    this.telemetry.emit(
      'platform.initStart',
      platformRecords.initStart({
        initializationType: config.initializationType,
        runtimeVersion: config.runtime,
        functionName: config.functionName,
        functionVersion: config.version,
      }),
    );
    const env = runtimeEnvironment(
      config,
      this.settings,
      this.address,
      streamName,
      this.settings.secretEnvironment,
    );
    // An image function's runtime is its container's entry point: nothing to launch here.
    const image = config.packageType === 'Image';
    const launch = image
      ? { command: '', args: [], cwd: '/', env }
      : runtimeLaunch(config, this.settings, env, isFile);
    const names = externalExtensions(this.settings.optRoot);
    this.extensions.begin(names, {
      functionName: config.functionName,
      functionVersion: config.version,
      handler: config.handler ?? '',
      accountId: accountIdOf(config.functionArn),
    });
    if ('errorType' in launch) {
      const reason = launch.errorMessage;
      return this.initFailed(
        { source: 'platform', errorType: launch.errorType, reason, status: 'error' },
        started,
        config,
      );
    }

    let fail!: (event: InitEvent) => void;
    const failed = new Promise<InitEvent>((resolve) => (fail = resolve));
    let ready!: () => void;
    const runtimeReady = new Promise<void>((resolve) => (ready = resolve));
    this.initWaiter = (e) => (e.kind === 'ready' ? ready() : fail(e));
    // Init's limit counts from the runtime's start: for an image, once its container runs (its
    // image pull is not Init, as on Lambda).
    let timer: NodeJS.Timeout | undefined;
    const startInitTimer = () => {
      timer ??= setTimeout(() => fail({ kind: 'timeout' }), this.settings.initTimeoutMs);
    };
    if (!image) startInitTimer();
    const stage = (done: Promise<unknown>) =>
      Promise.race([done.then(() => undefined), failed]) as Promise<InitEvent | undefined>;

    this.extensionProcs = startExtensions(
      this.settings.optRoot,
      names,
      env,
      launch.cwd,
      this.log.extensionSink(),
      config.memorySize,
    );
    for (const ext of this.extensionProcs)
      void ext.proc.exited.then((exit) => this.onExtensionExit(ext, exit));
    let event = await stage(
      this.extensions.until(() => names.every((n) => this.extensions.registeredExternal().has(n))),
    );
    if (!event) {
      let proc: RuntimeHandle;
      if (image) {
        this.launcher ??= ImageLauncher.listen(this.settings.launcher);
        const container = new ContainerRuntime(
          await this.launcher,
          this.memoryWatch(config.memorySize),
          this.log,
        );
        void container.appeared.then(startInitTimer);
        proc = container;
      } else {
        proc =
          this.takeStandby(config, env)?.handOver(env, launch.cwd) ??
          new RuntimeProcess(launch, this.memoryWatch(config.memorySize), this.log);
      }
      this.proc = proc;
      void proc.exited.then((exit) => this.onRuntimeExit(proc, exit));
      event = await stage(runtimeReady);
    }
    if (!event) {
      this.extensions.closeRegistration();
      event = await stage(this.extensions.until(() => this.extensions.allReady()));
    }
    clearTimeout(timer);
    this.initWaiter = undefined;
    if (!event) {
      const durationMs = this.clock.monotonic() - started;
      const type = config.initializationType;
      this.telemetry.emit('platform.initRuntimeDone', platformRecords.initRuntimeDone(type, 'success'));
      this.telemetry.emit('platform.initReport', platformRecords.initReport(type, 'success', durationMs));
      this.telemetry.endInit();
      return { ok: true, durationMs };
    }

    const proc = this.proc;
    this.proc = undefined; // detach first: the kill below is not a crash to report
    let exit: ExitInfo | undefined;
    if (proc) {
      exit = event.kind === 'exit' ? event.exit : await proc.kill();
      await proc.closed;
    }
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
    } else if (event.kind === 'extension') {
      failure = { source: 'platform', errorType: event.errorType, reason: event.reason, status: 'error' };
    } else {
      const died = exit ?? { code: null, signal: null };
      const errorType = proc ? classifyDeath(died, proc.memory, config.memorySize, '') : 'Runtime.ExitError';
      failure = { source: 'platform', errorType, reason: describeExit(died), status: 'error' };
    }
    await proc?.memory.dispose();
    return this.initFailed(failure, started, config);
  }

  private async initFailed(
    failure: InitFailure,
    started: number,
    config: FunctionConfig,
  ): Promise<InitResult> {
    this.initWaiter = undefined;
    await this.killExtensions();
    const durationMs = this.clock.monotonic() - started;
    const status = failure.source === 'platform' ? failure.status : 'error';
    this.log.platformLine(initReportLine(durationMs, status, failure.errorType));
    const type = config.initializationType;
    const telemetryStatus = status === 'timeout' ? 'timeout' : 'error';
    this.telemetry.emit(
      'platform.initRuntimeDone',
      platformRecords.initRuntimeDone(type, telemetryStatus, failure.errorType),
    );
    this.telemetry.emit(
      'platform.initReport',
      platformRecords.initReport(type, telemetryStatus, durationMs, failure.errorType),
    );
    this.telemetry.endInit();
    agentLog('warn', 'init failed', { errorType: failure.errorType });
    return { ok: false, durationMs, failure };
  }

  // ---- extensions -------------------------------------------------------------------------

  /** True when an extension subscribed to INVOKE: the end of each invoke waits for it. */
  get extensionsHoldInvokes(): boolean {
    return this.extensions.subscribed('INVOKE');
  }

  /**
   * The Invoke phase ends once every extension subscribed to INVOKE called /event/next again.
   * An extension still busy at `deadlineMonotonic`, or one that failed, resets the environment.
   */
  async awaitExtensions(
    deadlineMonotonic: number,
  ): Promise<{ ok: true } | { ok: false; errorType: string; status: 'timeout' | 'error' }> {
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      this.extensions
        .until(() => this.extensions.allReady('INVOKE') || this.extensionFailure !== undefined)
        .then(() => true),
      new Promise<boolean>(
        (resolve) =>
          (timer = setTimeout(() => resolve(false), Math.max(0, deadlineMonotonic - this.clock.monotonic()))),
      ),
    ]);
    clearTimeout(timer);
    const failure = this.extensionFailure;
    if (done && !failure) return { ok: true };
    agentLog('warn', 'extension did not finish the invoke; environment reset', {
      ...(failure ?? { timeout: true }),
    });
    await this.reset(failure ? 'failure' : 'timeout');
    return failure
      ? { ok: false, errorType: failure.errorType, status: 'error' }
      : { ok: false, errorType: 'Sandbox.Timedout', status: 'timeout' };
  }

  /** Kills the runtime and sends the extensions SHUTDOWN: the next invoke runs Init. */
  private async reset(reason: ShutdownReason): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    this.diedWhileIdle = true;
    this.api.abandon();
    this.stoppingExtensions = this.stopExtensions(reason);
    if (proc) {
      await proc.kill();
      await proc.memory.dispose();
    }
  }

  /** Delivers the SHUTDOWN event and waits (up to Lambda's allowance) before killing what is left. */
  private async stopExtensions(reason: ShutdownReason): Promise<void> {
    const procs = this.extensionProcs;
    this.extensionProcs = [];
    if (this.extensions.count === 0 && procs.length === 0) return;
    await this.telemetry.flush();
    if (this.extensions.subscribed('SHUTDOWN')) {
      const graceMs = procs.length > 0 ? SHUTDOWN_GRACE_MS.external : SHUTDOWN_GRACE_MS.internal;
      this.extensions.dispatchShutdown(reason, this.clock.now() + graceMs);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.extensions.until(() => this.extensions.allReady('SHUTDOWN')),
        new Promise((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
    }
    this.extensions.close();
    await Promise.all(procs.map(({ proc }) => proc.kill()));
  }

  private async killExtensions(): Promise<void> {
    const procs = this.extensionProcs;
    this.extensionProcs = [];
    this.extensions.close();
    await Promise.all(procs.map(({ proc }) => proc.kill()));
  }

  private onExtensionExit(ext: ExtensionProcess, exit: ExitInfo): void {
    this.extensions.markExited(ext.name);
    if (!this.extensionProcs.includes(ext)) return; // stopped on purpose
    const reason = `Extension ${ext.name} exited: ${describeExit(exit).replace(/^Runtime exited /, '')}`;
    agentLog('warn', 'extension exited', { extension: ext.name, reason });
    this.onExtensionFailure('Extension.Crash', reason);
  }

  onExtensionError(name: string, errorType: string): void {
    this.onExtensionFailure(errorType, `Extension ${name} reported ${errorType}`);
  }

  private onExtensionFailure(errorType: string, reason: string): void {
    if (this.initWaiter) return this.initWaiter({ kind: 'extension', errorType, reason });
    this.extensionFailure ??= { errorType, reason };
    this.extensions.recheck();
  }

  /** An extension failed between invokes: reset now, so the next invoke runs Init. */
  async resetAfterExtensionFailure(): Promise<void> {
    if (this.extensionFailure && this.proc) await this.reset('failure');
  }

  /**
   * An environment is free again only once its runtime polls /next, as on Lambda. A runtime
   * that posts its result and then exits (the Node client after a fatal error), or does not
   * poll again within `timeoutMs`, is reset instead; the caller then runs Init afresh.
   */
  async awaitFree(timeoutMs: number): Promise<void> {
    const proc = this.proc;
    if (!proc || this.api.isPolling()) return;
    let timer: NodeJS.Timeout | undefined;
    const polled = await Promise.race([
      this.api.waitForPoll().then(() => true),
      proc.exited.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (polled || this.proc !== proc) return; // polled, or its exit was handled as an idle death
    this.proc = undefined;
    this.diedWhileIdle = true;
    await proc.kill();
    await proc.memory.dispose();
    agentLog('warn', 'runtime never asked for the next invocation; reset');
  }

  /** Runs one invocation on the (initialised) runtime; resets the runtime after a timeout or death. */
  async invoke(
    invocation: Omit<Invocation, 'deadlineMs'>,
    config: FunctionConfig,
  ): Promise<InvocationReport> {
    const proc = this.proc as RuntimeHandle;
    const timeoutMs = config.timeout * 1000;
    const started = this.clock.monotonic();
    const raw = await new Promise<RuntimeOutcome | { kind: 'timeout' } | { kind: 'exit'; exit: ExitInfo }>(
      (resolve) => {
        const timer = setTimeout(() => resolve({ kind: 'timeout' }), timeoutMs);
        const sampler = setInterval(() => proc.memory.sample(true), this.settings.memorySampleMs);
        this.active = {
          requestId: invocation.requestId,
          end: (e) => {
            clearTimeout(timer);
            clearInterval(sampler);
            resolve(e);
          },
        };
        const deadlineMs = this.clock.now() + timeoutMs;
        this.api.deliver({ ...invocation, deadlineMs });
        this.extensions.dispatchInvoke({ ...invocation, deadlineMs });
      },
    );
    this.active = undefined;
    const durationMs = this.clock.monotonic() - started;

    let end: InvocationEnd;
    const reset = raw.kind === 'timeout' || raw.kind === 'exit';
    if (raw.kind === 'timeout' || raw.kind === 'exit') {
      // The platform ends the invocation: late posts for it are refused, the runtime goes.
      this.api.abandon();
      this.proc = undefined;
      this.stoppingExtensions = this.stopExtensions(raw.kind === 'timeout' ? 'timeout' : 'failure');
      const exit = raw.kind === 'exit' ? raw.exit : await proc.kill();
      await Promise.race([proc.closed, new Promise((r) => setTimeout(r, 200))]);
      end =
        raw.kind === 'timeout'
          ? raw
          : {
              kind: 'exit',
              reason: describeExit(exit),
              errorType: classifyDeath(exit, proc.memory, config.memorySize, this.log.peekCapture()),
            };
    } else {
      end = raw;
    }
    // Output the runtime wrote just before answering can still sit in the pipe: one turn of
    // the event loop lets it land in this invocation's log.
    await nextTurn();
    if (!reset) proc.memory.sample();
    const maxMemoryUsedBytes = proc.memory.peakBytes();
    if (reset) await proc.memory.dispose();
    return { end, durationMs, maxMemoryUsedBytes, reset };
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

  private onRuntimeExit(proc: RuntimeHandle, exit: ExitInfo): void {
    if (proc !== this.proc) return; // killed on purpose, already accounted for
    if (this.initWaiter) return this.initWaiter({ kind: 'exit', exit });
    if (this.active) return this.active.end({ kind: 'exit', exit });
    // Died between invocations (e.g. the Node client exits 129 after a fatal error).
    this.proc = undefined;
    this.diedWhileIdle = true;
    void proc.memory.dispose();
    agentLog('warn', 'runtime exited while idle', { reason: describeExit(exit) });
  }

  /**
   * Shutdown: the runtime gets SIGTERM (SIGKILL after 2 s); the extensions get the last
   * telemetry, then SHUTDOWN (`spindown`) with Lambda's deadline, then SIGKILL.
   */
  async shutdown(): Promise<void> {
    this.dismissStandbys();
    const proc = this.proc;
    this.proc = undefined;
    const runtime = proc
      ? proc.shutdown(SHUTDOWN_GRACE_MS.external).then(() => proc.memory.dispose())
      : undefined;
    await Promise.all([runtime, this.stopExtensions('spindown'), this.stoppingExtensions]);
    if (this.launcher) (await this.launcher).close();
    this.api.close();
  }
}
