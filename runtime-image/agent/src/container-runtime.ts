// The runtime of an image function: not a child of the agent but the entry point of the
// function's own container in the same pod (pod-spec's image pod: the agent is a native
// sidecar, the pod shares one process namespace). The agent sees that container's processes
// in /proc — every process whose cgroup differs from the agent's own and whose environment
// holds AWS_LAMBDA_RUNTIME_API (the pod spec gives it to that container only; the pod's pause
// process and the container runtime's short-lived helpers do not have it, and root's cannot be
// read) — and can signal them (same user). It cannot start them again:
// once they are gone the kubelet reports the container terminated and the gateway replaces
// the environment (README, "Image functions"), so a later Init here fails at once.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { MemoryWatch } from './memory.js';
import type { ExitInfo, RuntimeHandle } from './runtime-process.js';

export interface ContainerRuntimeOptions {
  procRoot?: string;
  pollMs?: number;
  /** Written once the agent waits for the runtime: the sidecar's postStart hook waits for it. */
  expectedFile?: string;
}

/** The marker of the runtime's processes: only the function's container is given it. */
const RUNTIME_MARKER = 'AWS_LAMBDA_RUNTIME_API=';

/** The pids of the runtime's processes, in the function's container (pure over a /proc reader). */
export function foreignPids(
  list: () => string[],
  cgroupOf: (pid: string) => string | undefined,
  environOf: (pid: string) => string | undefined,
): number[] {
  const own = cgroupOf('self');
  const pids: number[] = [];
  for (const name of list()) {
    if (!/^\d+$/.test(name) || name === '1') continue;
    const cgroup = cgroupOf(name);
    if (cgroup === undefined || cgroup === own) continue;
    const environ = environOf(name);
    if (
      environ !== undefined &&
      (environ.startsWith(RUNTIME_MARKER) || environ.includes(`\0${RUNTIME_MARKER}`))
    )
      pids.push(Number(name));
  }
  return pids.sort((a, b) => a - b);
}

let containerGone = false;
const GONE_AFTER_EMPTY_POLLS = 3;

/** The function's container has exited (its processes are gone): nothing in this pod runs it again. */
export const imageContainerGone = (): boolean => containerGone;

export class ContainerRuntime implements RuntimeHandle {
  readonly exited: Promise<ExitInfo>;
  readonly closed: Promise<void>;
  /** Resolves when the container's first process is seen (its image is pulled and started). */
  readonly appeared: Promise<void>;
  private pids: number[] = [];
  private killing = false;
  private exitInfo: ExitInfo | undefined;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(
    readonly memory: MemoryWatch,
    private readonly options: ContainerRuntimeOptions = {},
  ) {
    let resolveExit!: (info: ExitInfo) => void;
    let resolveAppeared!: () => void;
    this.exited = new Promise((resolve) => (resolveExit = resolve));
    this.appeared = new Promise((resolve) => (resolveAppeared = resolve));
    this.closed = this.exited.then(() => undefined);
    if (containerGone) {
      // The container does not come back (restartPolicy Never): fail this Init at once.
      this.exitInfo = { code: null, signal: null };
      resolveExit(this.exitInfo);
      resolveAppeared();
      return;
    }
    const procRoot = options.procRoot ?? '/proc';
    const file = (pid: string, name: string) => {
      try {
        return readFileSync(`${procRoot}/${pid}/${name}`, 'utf8');
      } catch {
        return undefined;
      }
    };
    const read = () =>
      foreignPids(
        () => readdirSync(procRoot),
        (pid) => file(pid, 'cgroup'),
        (pid) => file(pid, 'environ'),
      );
    let seen = false;
    let emptyPolls = 0;
    this.timer = setInterval(() => {
      const pids = read();
      emptyPolls = pids.length === 0 ? emptyPolls + 1 : 0;
      // A process being exec'd can be unreadable for a moment: gone means gone for a few polls.
      if (pids.length > 0 || emptyPolls >= GONE_AFTER_EMPTY_POLLS) this.pids = pids;
      if (!seen && pids.length > 0) {
        seen = true;
        memory.attach(pids[0] as number);
        resolveAppeared();
      } else if (seen && emptyPolls >= GONE_AFTER_EMPTY_POLLS) {
        clearInterval(this.timer);
        containerGone = true;
        this.exitInfo = { code: null, signal: this.killing ? 'SIGKILL' : null };
        resolveExit(this.exitInfo);
      }
    }, options.pollMs ?? 20);
    try {
      writeFileSync(options.expectedFile ?? '/tmp/.lamina-runtime-expected', `${process.pid}\n`);
    } catch {
      // no writable /tmp (tests): nobody waits for the file
    }
  }

  get pid(): number | undefined {
    return this.pids[0];
  }

  get alive(): boolean {
    return this.exitInfo === undefined;
  }

  get killedByAgent(): boolean {
    return this.killing;
  }

  private signal(signal: NodeJS.Signals): void {
    for (const pid of this.pids) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
  }

  kill(): Promise<ExitInfo> {
    this.killing = true;
    this.signal('SIGKILL');
    return this.exited;
  }

  async shutdown(graceMs: number): Promise<ExitInfo> {
    this.killing = true;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    const info = await this.exited;
    clearTimeout(timer);
    return info;
  }
}
