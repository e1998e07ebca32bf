// Memory accounting for the runtime process: the limit (optional), the peak for REPORT's
// "Max Memory Used", and whether a death was the out-of-memory killer's doing.
//
// With LAMINA_MEMORY_CGROUP the agent makes one child cgroup per runtime process, caps it at
// the function's memory size and reads the kernel's own peak and OOM-kill counters. Without
// it (the normal pod case: a container's cgroup is read-only) the peak is sampled from /proc
// (VmHWM of the runtime's process tree), the tree is SIGKILLed when its resident memory is
// seen above the function's memory size, and OOM kills by the container's own limit (the
// function's memory plus the agent's) are read from the container's cgroup counter.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MemoryWatch {
  /** Prefix that puts the process in the limit before it runs anything (empty without one). */
  wrap(command: string, args: string[]): { command: string; args: string[] };
  /** Begins tracking a started process. */
  attach(pid: number): void;
  /** Highest memory use seen so far, in bytes. */
  peakBytes(): number;
  /**
   * Re-reads the peak. `deep` also walks the runtime's child processes (periodic sampling of a
   * long invocation); the shallow read is one file and runs at the end of every invocation.
   */
  sample(deep?: boolean): void;
  /** True if the kernel's OOM killer acted on this process since attach(). */
  oomKilled(): boolean;
  /** Releases kernel objects once the process tree is dead. */
  dispose(): Promise<void>;
}

const readNumber = (path: string): number | undefined => {
  try {
    const value = Number(readFileSync(path, 'utf8').trim());
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
};

/** Reads `<key> <n>` from a flat-keyed cgroup file (memory.events, memory.oom_control). */
export function readCounter(path: string, key: string): number | undefined {
  try {
    const line = readFileSync(path, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${key} `));
    return line === undefined ? undefined : Number(line.slice(key.length + 1));
  } catch {
    return undefined;
  }
}

export interface ProcessMemory {
  /** VmHWM: the highest resident set so far. */
  peakBytes: number;
  /** VmRSS: resident now. */
  residentBytes: number;
}

// Read at the end of every invocation: the patterns are compiled once.
const VM_HWM = /^VmHWM:\s+(\d+) kB/m;
const VM_RSS = /^VmRSS:\s+(\d+) kB/m;
const kB = (status: string, field: RegExp) => Number(field.exec(status)?.[1] ?? 0) * 1024;

/** Memory of one process; zeros once it is gone. */
export function processMemory(pid: number): ProcessMemory {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { peakBytes: kB(status, VM_HWM), residentBytes: kB(status, VM_RSS) };
  } catch {
    return { peakBytes: 0, residentBytes: 0 };
  }
}

/** Memory of a process and all its descendants, summed. */
export function processTreeMemory(pid: number): ProcessMemory {
  const total = { peakBytes: 0, residentBytes: 0 };
  const stack = [pid];
  while (stack.length > 0) {
    const current = stack.pop() as number;
    const one = processMemory(current);
    total.peakBytes += one.peakBytes;
    total.residentBytes += one.residentBytes;
    try {
      for (const tid of readdirSync(`/proc/${current}/task`)) {
        const children = readFileSync(`/proc/${current}/task/${tid}/children`, 'utf8').trim();
        if (children) stack.push(...children.split(' ').map(Number));
      }
    } catch {
      // the process went away between reads
    }
  }
  return total;
}

/**
 * Where this process's own cgroup keeps its OOM-kill counter (the container's, in a pod).
 * /proc/self/cgroup names the cgroup as the host sees it, but a container (cgroup v1, or v2
 * with its own cgroup namespace) has its own cgroup mounted at the root of /sys/fs/cgroup:
 * the first of the two places that exists is the one.
 */
export function ownOomCounterFile(
  procSelfCgroup = '/proc/self/cgroup',
  cgroupRoot = '/sys/fs/cgroup',
): { path: string; key: string } | undefined {
  let lines: string[];
  try {
    lines = readFileSync(procSelfCgroup, 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const v1 = lines.find((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l));
  const v2 = lines.find((l) => l.startsWith('0::'));
  const [mount, own, file] = v1
    ? [join(cgroupRoot, 'memory'), v1.split(':')[2] ?? '/', 'memory.oom_control']
    : v2
      ? [cgroupRoot, v2.slice(3), 'memory.events']
      : [];
  if (!mount || own === undefined || !file) return undefined;
  const path = [join(mount, own, file), join(mount, file)].find((candidate) => existsSync(candidate));
  return path ? { path, key: 'oom_kill' } : undefined;
}

/**
 * Default: peak from /proc; the limit enforced by sampling (the runtime's process group is
 * SIGKILLed when a deep sample finds it resident above `limitBytes`); OOM kills by the
 * container's limit read from its cgroup counter.
 */
export class ProcMemoryWatch implements MemoryWatch {
  private pid = 0;
  private peak = 0;
  private overLimit = false;
  private readonly counter = ownOomCounterFile();
  private oomBaseline: number | undefined;

  constructor(private readonly limitBytes = Infinity) {}

  wrap(command: string, args: string[]) {
    return { command, args };
  }

  attach(pid: number): void {
    this.pid = pid;
    this.oomBaseline = this.counter && readCounter(this.counter.path, this.counter.key);
  }

  sample(deep = false): void {
    if (!this.pid) return;
    const { peakBytes, residentBytes } = deep ? processTreeMemory(this.pid) : processMemory(this.pid);
    this.peak = Math.max(this.peak, peakBytes);
    if (deep && !this.overLimit && residentBytes > this.limitBytes) {
      this.overLimit = true;
      try {
        process.kill(-this.pid, 'SIGKILL'); // the runtime leads its own process group
      } catch {
        // already gone
      }
    }
  }

  peakBytes(): number {
    return this.peak;
  }

  oomKilled(): boolean {
    if (this.overLimit) return true;
    if (!this.counter || this.oomBaseline === undefined) return false;
    const now = readCounter(this.counter.path, this.counter.key);
    return now !== undefined && now > this.oomBaseline;
  }

  async dispose(): Promise<void> {}
}

let cgroupSequence = 0;

/** A child cgroup capped at the function's memory size (cgroup v1 memory controller or v2). */
export class CgroupMemoryWatch implements MemoryWatch {
  readonly dir: string;
  private readonly v2: boolean;

  constructor(parent: string, limitBytes: number) {
    this.dir = join(parent, `lamina-runtime-${process.pid}-${++cgroupSequence}`);
    mkdirSync(this.dir);
    this.v2 = isV2(parent);
    if (this.v2) {
      writeFileSync(join(this.dir, 'memory.max'), String(limitBytes));
      tryWrite(join(this.dir, 'memory.swap.max'), '0');
    } else {
      writeFileSync(join(this.dir, 'memory.limit_in_bytes'), String(limitBytes));
      // Without swap accounting the limit would let the process page out instead of dying.
      tryWrite(join(this.dir, 'memory.memsw.limit_in_bytes'), String(limitBytes));
    }
  }

  wrap(command: string, args: string[]) {
    // The shell joins the cgroup and then execs the runtime, so not one page of the runtime
    // is charged outside the limit and the runtime keeps the shell's pid.
    return {
      command: '/bin/sh',
      args: [
        '-c',
        'echo $$ > "$1/cgroup.procs" || exit 126; shift; exec "$@"',
        'lamina-cgroup',
        this.dir,
        command,
        ...args,
      ],
    };
  }

  attach(): void {}

  sample(): void {}

  peakBytes(): number {
    return readNumber(join(this.dir, this.v2 ? 'memory.peak' : 'memory.max_usage_in_bytes')) ?? 0;
  }

  oomKilled(): boolean {
    const file = this.v2 ? 'memory.events' : 'memory.oom_control';
    return (readCounter(join(this.dir, file), 'oom_kill') ?? 0) > 0;
  }

  async dispose(): Promise<void> {
    // The kernel refuses rmdir until the last task has left; the caller killed them already.
    for (let attempt = 0; attempt < 100; attempt++) {
      try {
        rmdirSync(this.dir);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }
}

function isV2(dir: string): boolean {
  try {
    readFileSync(join(dir, 'cgroup.controllers'));
    return true;
  } catch {
    return false;
  }
}

function tryWrite(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch {
    // optional knob (no swap accounting on this kernel)
  }
}
