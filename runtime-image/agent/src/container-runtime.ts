// The runtime of an image function: the image's own entry point, run in the function's
// container of the same pod (image-pod.ts) by lamina-launch, a static launcher the agent
// copies into an emptyDir both containers mount (runtime-image/agent/launcher). The launcher
// connects to the agent's control socket; for each Init the agent writes "start" and the
// launcher runs the entry point in a new session, its stdout/stderr on a connection to the
// agent's output socket, and reports its pid and then its exit status. So an image function's
// runtime is driven as a zip function's child process is: its output is framed and captured
// for LogType Tail, its exit status is known (Runtime.ExitError "exit status 3"), the agent
// kills its process group on a timeout or a reset (one process namespace, same user), and the
// next Init starts it again in place. Only if the launcher itself goes (its container ended)
// does nothing here run the function again: the environment is then replaced (README).
import { chmodSync, copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { parseLaunchReport, type LaunchReport } from './launch-protocol.js';
import { agentLog, type LogSink } from './logs.js';
import type { MemoryWatch } from './memory.js';
import type { ExitInfo, RuntimeHandle } from './runtime-process.js';

export interface LauncherPaths {
  /** The emptyDir shared with the function's container: the launcher binary and both sockets. */
  dir: string;
  /** The launcher in the agent's image, copied into `dir`. */
  binary: string;
  /** Written once the agent listens: the sidecar's postStart hook waits for it. */
  expectedFile: string;
}

let containerGone = false;
/** How long a runtime's end waits for an output connection it has not seen yet. */
const OUTPUT_GRACE_MS = 500;

/** The launcher (the function's container) has gone: nothing in this pod runs the function again. */
export const imageContainerGone = (): boolean => containerGone;

/** Lines of a stream, as they complete. */
function onLines(socket: Socket, each: (line: string) => void): void {
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('data', (text: string) => {
    pending += text;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      each(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
  });
}

/** The agent's end of lamina-launch: its control connection and the output connections. */
export class ImageLauncher {
  private control: Socket | undefined;
  private readonly connected: Promise<void>;
  /** Runtimes started, oldest first, until their exit is reported. */
  private readonly reports: ContainerRuntime[] = [];
  /** Runtimes started whose output connection has not arrived yet. */
  private readonly outputs: ContainerRuntime[] = [];

  private constructor(
    private readonly servers: Server[],
    connected: Promise<Socket>,
  ) {
    this.connected = connected.then((socket) => {
      this.control = socket;
      onLines(socket, (line) => this.onReport(parseLaunchReport(line)));
      socket.on('error', () => undefined);
      socket.on('close', () => this.onGone());
    });
  }

  /** Copies the launcher into the shared directory, listens on both sockets, then says so. */
  static async listen(paths: LauncherPaths): Promise<ImageLauncher> {
    const target = join(paths.dir, 'lamina-launch');
    copyFileSync(paths.binary, target);
    chmodSync(target, 0o755);
    const listenOn = async (name: string, onConnection: (socket: Socket) => void) => {
      const path = join(paths.dir, name);
      rmSync(path, { force: true });
      const server = createServer(onConnection);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => resolve());
      });
      return server;
    };
    let accept!: (socket: Socket) => void;
    const connected = new Promise<Socket>((resolve) => (accept = resolve));
    const ref: { launcher?: ImageLauncher } = {};
    let taken = false;
    const control = await listenOn('control.sock', (socket) => {
      // One launcher per pod: a second connection is not ours to serve.
      if (taken) return socket.destroy();
      taken = true;
      accept(socket);
    });
    const output = await listenOn('output.sock', (socket) => ref.launcher?.onOutput(socket));
    const launcher = new ImageLauncher([control, output], connected);
    ref.launcher = launcher;
    try {
      writeFileSync(paths.expectedFile, `${process.pid}\n`);
    } catch {
      // no such directory (tests): nobody waits for the file
    }
    return launcher;
  }

  /** Asks the launcher to run the entry point once more; reports go to `runtime`. */
  start(runtime: ContainerRuntime): void {
    if (containerGone) return runtime.onReport({ kind: 'exit', code: null, signal: null });
    this.reports.push(runtime);
    this.outputs.push(runtime);
    void this.connected.then(() => this.control?.write('start\n'));
  }

  private onReport(report: LaunchReport | undefined): void {
    const runtime = this.reports[0];
    if (!report || !runtime) return;
    if (report.kind !== 'pid') {
      this.reports.shift();
      // A program that could not start connected its output all the same (and closed it).
    }
    runtime.onReport(report);
  }

  private onOutput(socket: Socket): void {
    const runtime = this.outputs.shift();
    if (runtime) runtime.onOutput(socket);
    else socket.destroy();
  }

  private onGone(): void {
    containerGone = true;
    agentLog('warn', "the function's container ended (its launcher disconnected)");
    for (const runtime of this.reports.splice(0))
      runtime.onReport({ kind: 'exit', code: null, signal: null });
    this.outputs.length = 0;
  }

  close(): void {
    this.control?.destroy();
    for (const server of this.servers) server.close();
  }
}

/** One run of the image's entry point, driven through the launcher. */
export class ContainerRuntime implements RuntimeHandle {
  readonly exited: Promise<ExitInfo>;
  readonly closed: Promise<void>;
  /** Resolves when the entry point runs (its image pulled, its container started). */
  readonly appeared: Promise<void>;
  private processId: number | undefined;
  private killing = false;
  private exitInfo: ExitInfo | undefined;
  private resolveExit!: (info: ExitInfo) => void;
  private resolveAppeared!: () => void;
  private outputClosed: Promise<void> | undefined;
  private outputArrived: (() => void) | undefined;

  constructor(
    launcher: ImageLauncher,
    readonly memory: MemoryWatch,
    private readonly log: LogSink,
  ) {
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
    this.appeared = new Promise((resolve) => (this.resolveAppeared = resolve));
    // Output written just before the exit can trail it: wait for the connection to close too
    // (its accept can even come after the exit report: give it a moment to arrive).
    this.closed = this.exited.then(async () => {
      if (!this.outputClosed && !containerGone) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          this.outputArrived = resolve;
          timer = setTimeout(resolve, OUTPUT_GRACE_MS);
        });
        clearTimeout(timer);
      }
      await this.outputClosed;
    });
    launcher.start(this);
  }

  onReport(report: LaunchReport): void {
    if (report.kind === 'pid') {
      this.processId = report.pid;
      this.memory.attach(report.pid);
      this.resolveAppeared();
      if (this.killing) this.signal('SIGKILL');
      return;
    }
    const info: ExitInfo =
      report.kind === 'error'
        ? {
            code: null,
            signal: null,
            spawnError: Object.assign(new Error(`${report.code} ${report.path}`), {
              code: report.code,
              path: report.path || 'entry point',
            }),
          }
        : { code: report.code, signal: report.signal };
    this.finish(info);
  }

  /** The entry point's stdout and stderr, into the function log; paused while the log is full. */
  onOutput(socket: Socket): void {
    this.outputClosed = new Promise((resolve) => socket.once('close', () => resolve()));
    this.outputArrived?.();
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      if (this.log.runtimeOutput(chunk)) return;
      socket.pause();
      this.log.onceDrained(() => socket.resume());
    });
  }

  private finish(info: ExitInfo): void {
    if (this.exitInfo) return;
    this.exitInfo = info;
    this.resolveAppeared();
    if (this.processId !== undefined) this.signal('SIGKILL'); // what it left behind dies with it
    this.resolveExit(info);
  }

  get pid(): number | undefined {
    return this.processId;
  }

  get alive(): boolean {
    return this.exitInfo === undefined;
  }

  get killedByAgent(): boolean {
    return this.killing;
  }

  /** The launcher started the entry point in a session of its own: signal that process group. */
  private signal(signal: NodeJS.Signals): void {
    if (this.processId === undefined) return;
    try {
      process.kill(-this.processId, signal);
    } catch {
      // already gone
    }
  }

  kill(): Promise<ExitInfo> {
    this.killing = true;
    // Not started yet (its container is still being created): its pid, when reported, is killed.
    if (this.processId === undefined) this.finish({ code: null, signal: 'SIGKILL' });
    this.signal('SIGKILL');
    return this.exited;
  }

  async shutdown(graceMs: number): Promise<ExitInfo> {
    this.killing = true;
    if (this.processId === undefined) this.finish({ code: null, signal: 'SIGTERM' });
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    const info = await this.exited;
    clearTimeout(timer);
    return info;
  }
}
