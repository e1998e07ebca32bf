// One language-runtime process: started in its own process group (so a kill takes its
// children too), its stdout/stderr handed to the log capture, its death reported once.
import { spawn, type ChildProcess } from 'node:child_process';
import type { LogSink } from './logs.js';
import type { MemoryWatch } from './memory.js';
import type { RuntimeLaunch } from './runtime-env.js';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (exec failed). */
  spawnError?: NodeJS.ErrnoException;
}

// Go's names for signals, because Lambda's messages come from Go's os/exec
// ("Runtime exited with error: signal: killed").
const GO_SIGNAL_NAMES: Partial<Record<NodeJS.Signals, string>> = {
  SIGKILL: 'killed',
  SIGTERM: 'terminated',
  SIGSEGV: 'segmentation fault',
  SIGABRT: 'aborted',
  SIGINT: 'interrupt',
  SIGHUP: 'hangup',
  SIGBUS: 'bus error',
  SIGFPE: 'floating point exception',
  SIGILL: 'illegal instruction',
  SIGPIPE: 'broken pipe',
  SIGQUIT: 'quit',
  SIGTRAP: 'trace/breakpoint trap',
  SIGUSR1: 'user defined signal 1',
  SIGUSR2: 'user defined signal 2',
  SIGXCPU: 'CPU time limit exceeded',
  SIGSYS: 'bad system call',
};

/** Lambda's wording for how a runtime died [LAMBDA-SPEC §7]. */
export function describeExit(exit: ExitInfo): string {
  if (exit.spawnError) {
    const reason = exit.spawnError.code === 'EACCES' ? 'permission denied' : 'no such file or directory';
    return `fork/exec ${exit.spawnError.path ?? 'runtime'}: ${reason}`;
  }
  if (exit.signal) return `Runtime exited with error: signal: ${GO_SIGNAL_NAMES[exit.signal] ?? exit.signal}`;
  // code null: an image function's container exited (its status is the kubelet's to report).
  if (exit.code === 0 || exit.code === null) return 'Runtime exited without providing a reason';
  return `Runtime exited with error: exit status ${exit.code}`;
}

const OOM_SHARE_OF_LIMIT = 0.9;

/**
 * Out-of-memory rule (README, "Memory"): a SIGKILL the agent did not send is
 * Runtime.OutOfMemory when the kernel's OOM-kill counter moved (the runtime's cgroup, or the
 * container's) or the observed peak reached 90% of the memory size; so is V8 aborting with
 * "heap out of memory". A process that could not be started is Runtime.InvalidEntrypoint.
 */
export function classifyDeath(
  exit: ExitInfo,
  memory: MemoryWatch,
  memorySizeMb: number,
  recentOutput: string,
): string {
  if (exit.spawnError) return 'Runtime.InvalidEntrypoint';
  const limit = memorySizeMb * 1024 * 1024;
  if (exit.signal === 'SIGKILL' && (memory.oomKilled() || memory.peakBytes() >= OOM_SHARE_OF_LIMIT * limit)) {
    return 'Runtime.OutOfMemory';
  }
  if (exit.signal === 'SIGABRT' && /heap out of memory/.test(recentOutput)) return 'Runtime.OutOfMemory';
  return 'Runtime.ExitError';
}

/** What the supervisor drives: a child process, or an image function's container (container-runtime.ts). */
export interface RuntimeHandle {
  readonly exited: Promise<ExitInfo>;
  readonly closed: Promise<void>;
  readonly memory: MemoryWatch;
  readonly pid: number | undefined;
  readonly alive: boolean;
  readonly killedByAgent: boolean;
  kill(): Promise<ExitInfo>;
  shutdown(graceMs: number): Promise<ExitInfo>;
}

export class RuntimeProcess implements RuntimeHandle {
  readonly exited: Promise<ExitInfo>;
  /** Resolves once stdout and stderr are drained too (their last bytes can trail the exit). */
  readonly closed: Promise<void>;
  private readonly child: ChildProcess;
  private killing = false;
  private exitInfo: ExitInfo | undefined;

  constructor(
    launch: RuntimeLaunch,
    readonly memory: MemoryWatch,
    log: LogSink,
    /** A standby waits on its stdin for `handOver` (runtime-env.ts, "Standby runtimes"). */
    standby = false,
  ) {
    const { command, args } = memory.wrap(launch.command, launch.args);
    this.child = spawn(command, args, {
      cwd: launch.cwd,
      env: launch.env,
      detached: true,
      stdio: [standby ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    // A standby that died before its hand-over is reported by its exit, not by a write error.
    this.child.stdin?.on('error', () => undefined);
    this.forwardOutput(log);
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err: NodeJS.ErrnoException) => {
        if (this.child.pid === undefined) this.finish({ code: null, signal: null, spawnError: err }, resolve);
      });
      this.child.once('exit', (code, signal) => this.finish({ code, signal }, resolve));
    });
    this.closed = new Promise((resolve) => {
      this.child.once('close', () => resolve());
      void this.exited.then((info) => info.spawnError && resolve());
    });
    if (this.child.pid !== undefined) memory.attach(this.child.pid);
  }

  /** Gives a standby its function: the environment and working directory it is to run with (one line). */
  handOver(env: Record<string, string>, cwd: string): this {
    this.child.stdin?.end(`${JSON.stringify({ env, cwd })}\n`);
    return this;
  }

  /** Both pipes into the log; both paused while the log is full. */
  private forwardOutput(log: LogSink): void {
    const pipes = [this.child.stdout, this.child.stderr].filter((p) => p !== null);
    let paused = false;
    const resume = () => {
      paused = false;
      for (const p of pipes) p.resume();
    };
    for (const pipe of pipes) {
      pipe.on('data', (chunk: Buffer) => {
        if (log.runtimeOutput(chunk) || paused) return;
        paused = true;
        for (const p of pipes) p.pause();
        log.onceDrained(resume);
      });
    }
  }

  private finish(info: ExitInfo, resolve: (info: ExitInfo) => void): void {
    if (this.exitInfo) return;
    this.exitInfo = info;
    this.killGroup('SIGKILL'); // grandchildren die with the runtime, as the sandbox would
    resolve(info);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exitInfo === undefined;
  }

  /** True once the agent asked for the process to die (timeout, reset, shutdown). */
  get killedByAgent(): boolean {
    return this.killing;
  }

  private killGroup(signal: NodeJS.Signals): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // already gone
    }
  }

  /** SIGKILLs the whole process group and waits until the runtime is reaped. */
  kill(): Promise<ExitInfo> {
    this.killing = true;
    this.killGroup('SIGKILL');
    return this.exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs` (Lambda's Shutdown phase is capped at 2 s). */
  async shutdown(graceMs: number): Promise<ExitInfo> {
    this.killing = true;
    this.killGroup('SIGTERM');
    const timer = setTimeout(() => this.killGroup('SIGKILL'), graceMs);
    const info = await this.exited;
    clearTimeout(timer);
    return info;
  }
}
