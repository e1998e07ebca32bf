// The runtime side of an environment: the Runtime API server and the one runtime process
// behind it. It runs Init (start until the first /next), hands one invocation at a time to the
// runtime and waits for its end (result, error, timeout, death), and resets the runtime after
// a timeout or a crash. What the gateway sees (states, payloads, log framing) is the
// environment's business (environment.ts).
import { statSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Clock } from './clock.js';
import type { FunctionConfig } from './config.js';
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
import { classifyDeath, describeExit, RuntimeProcess, type ExitInfo } from './runtime-process.js';
import type { AgentSettings } from './settings.js';

/** An Init failure: the runtime's own report, or one the platform diagnosed. */
export type InitFailure =
  | { source: 'runtime'; body: Buffer; errorType: string }
  | { source: 'platform'; errorType: string; reason: string; status: 'error' | 'timeout' };

export type InitResult =
  { ok: true; durationMs: number } | { ok: false; durationMs: number; failure: InitFailure };

type InitEvent =
  | { kind: 'ready' }
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

export class RuntimeSupervisor implements RuntimeApiEvents {
  private readonly api = new RuntimeApi(this);
  private proc: RuntimeProcess | undefined;
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
  ) {}

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

  /** Starts the runtime and waits until it polls /next, reports an init error, dies or runs out of time. */
  async init(config: FunctionConfig, streamName: string): Promise<InitResult> {
    const started = this.clock.monotonic();
    this.api.newGeneration();
    this.log.platformLine(initStartLine(config.runtime));
    const env = runtimeEnvironment(
      config,
      this.settings,
      this.address,
      streamName,
      this.settings.secretEnvironment,
    );
    const launch = runtimeLaunch(config, this.settings, env, isFile);
    if ('errorType' in launch) {
      const reason = launch.errorMessage;
      return this.initFailed(
        { source: 'platform', errorType: launch.errorType, reason, status: 'error' },
        started,
      );
    }
    const event = await new Promise<InitEvent>((resolve) => {
      const timer = setTimeout(() => resolve({ kind: 'timeout' }), this.settings.initTimeoutMs);
      this.initWaiter = (e) => {
        clearTimeout(timer);
        resolve(e);
      };
      const proc =
        this.takeStandby(config, env)?.handOver(env, launch.cwd) ??
        new RuntimeProcess(launch, this.memoryWatch(config.memorySize), this.log);
      this.proc = proc;
      void proc.exited.then((exit) => this.onRuntimeExit(proc, exit));
    });
    this.initWaiter = undefined;
    if (event.kind === 'ready') return { ok: true, durationMs: this.clock.monotonic() - started };

    const proc = this.proc as RuntimeProcess;
    const memory = proc.memory;
    this.proc = undefined; // detach first: the kill below is not a crash to report
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
      const errorType = classifyDeath(exit, memory, config.memorySize, '');
      failure = { source: 'platform', errorType, reason: describeExit(exit), status: 'error' };
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
    const proc = this.proc as RuntimeProcess;
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
        this.api.deliver({ ...invocation, deadlineMs: this.clock.now() + timeoutMs });
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

  private onRuntimeExit(proc: RuntimeProcess, exit: ExitInfo): void {
    if (proc !== this.proc) return; // killed on purpose, already accounted for
    if (this.initWaiter) return this.initWaiter({ kind: 'exit', exit });
    if (this.active) return this.active.end({ kind: 'exit', exit });
    // Died between invocations (e.g. the Node client exits 129 after a fatal error).
    this.proc = undefined;
    this.diedWhileIdle = true;
    void proc.memory.dispose();
    agentLog('warn', 'runtime exited while idle', { reason: describeExit(exit) });
  }

  /** SIGTERM, then SIGKILL after Lambda's 2 s Shutdown allowance. */
  async shutdown(): Promise<void> {
    this.dismissStandbys();
    const proc = this.proc;
    this.proc = undefined;
    if (proc) {
      await proc.shutdown(2000);
      await proc.memory.dispose();
    }
    this.api.close();
  }
}
