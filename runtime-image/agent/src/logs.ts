// Two streams, kept apart on purpose:
//  - stdout carries the function's log exactly as CloudWatch would show it: the runtime's own
//    output, framed by the platform's START / END / REPORT lines, in plain text;
//  - stderr carries the agent's diagnostics as JSON lines, for machines.

import { LineSplitter } from './telemetry.js';

export const TAIL_BYTES = 4096;

type Level = 'debug' | 'info' | 'warn' | 'error';

let baseFields: Record<string, unknown> = {};

/** Fields (function, version …) added to every agent log line from now on. */
export function setLogContext(fields: Record<string, unknown>): void {
  baseFields = { ...baseFields, ...fields };
}

export function agentLog(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...baseFields, ...fields });
  process.stderr.write(line + '\n');
}

/** Keeps only the last TAIL_BYTES of what is appended (LogType: Tail). */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private length = 0;

  append(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
    while (this.chunks.length > 1 && this.length - (this.chunks[0]?.length ?? 0) >= TAIL_BYTES) {
      this.length -= this.chunks.shift()?.length ?? 0;
    }
  }

  bytes(): Buffer {
    const all = Buffer.concat(this.chunks, this.length);
    return all.length > TAIL_BYTES ? all.subarray(all.length - TAIL_BYTES) : all;
  }
}

/** Where the function log goes: the container's stdout, or anything that can push back. */
export interface LogOutput {
  /** False when the output is full: stop writing until it emits 'drain'. */
  write(chunk: Buffer): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

/** A producer of log output that honours backpressure (the runtime process's pipes). */
export interface LogSink {
  /** Takes a chunk; false asks the producer to pause until `onceDrained` calls back. */
  runtimeOutput(chunk: Buffer): boolean;
  onceDrained(resume: () => void): void;
}

/**
 * Writes the function log and captures the current invocation's share of it. When the
 * container log falls behind, the runtime's pipes are paused, so a handler that floods its
 * log waits for it (as on Lambda) instead of the agent queueing it in memory.
 */
export class FunctionLog implements LogSink {
  private capture: TailBuffer | undefined;
  private atLineStart = true;
  private lineListener: ((source: 'function' | 'extension', line: string) => void) | undefined;
  private wantsLines: () => boolean = () => false;
  private readonly functionLines = new LineSplitter((line) => this.lineListener?.('function', line));

  constructor(private readonly out: LogOutput = process.stdout) {}

  /**
   * Receives each line the runtime (`function`) and the extensions (`extension`) write, while
   * `wanted()` says someone listens (splitting lines costs nothing otherwise).
   */
  onLine(listener: (source: 'function' | 'extension', line: string) => void, wanted: () => boolean): void {
    this.lineListener = listener;
    this.wantsLines = wanted;
  }

  /** Output of the runtime process, passed through untouched. */
  runtimeOutput(chunk: Buffer): boolean {
    if (this.wantsLines()) this.functionLines.push(chunk);
    return this.write(chunk);
  }

  /** A sink for one extension process: same log, its lines reported as `extension`. */
  extensionSink(): LogSink {
    const lines = new LineSplitter((line) => this.lineListener?.('extension', line));
    return {
      runtimeOutput: (chunk) => {
        if (this.wantsLines()) lines.push(chunk);
        return this.write(chunk);
      },
      onceDrained: (resume) => this.onceDrained(resume),
    };
  }

  private write(chunk: Buffer): boolean {
    if (chunk.length === 0) return true;
    this.capture?.append(chunk);
    this.atLineStart = chunk[chunk.length - 1] === 0x0a;
    return this.out.write(chunk);
  }

  onceDrained(resume: () => void): void {
    this.out.once('drain', resume);
  }

  /**
   * Platform lines, in one write (each write is a wake-up of the container log's reader);
   * they start on a fresh line even if the function left one unfinished.
   */
  platformLine(...lines: string[]): void {
    const text = (this.atLineStart ? '' : '\n') + lines.join('\n') + '\n';
    this.write(Buffer.from(text));
  }

  beginCapture(): void {
    this.capture = new TailBuffer();
  }

  /** True between beginCapture and endCapture. */
  get capturing(): boolean {
    return this.capture !== undefined;
  }

  /** The current invocation's log so far (for recognising a runtime's dying words). */
  peekCapture(): string {
    return this.capture?.bytes().toString('utf8') ?? '';
  }

  /** Stops capturing and returns the last 4 KB of the invocation's log. */
  endCapture(): Buffer {
    const bytes = this.capture?.bytes() ?? Buffer.alloc(0);
    this.capture = undefined;
    return bytes;
  }
}

const ms = (value: number) => `${value.toFixed(2)} ms`;

export const startLine = (requestId: string, version: string) =>
  `START RequestId: ${requestId} Version: ${version}`;

export const endLine = (requestId: string) => `END RequestId: ${requestId}`;

export interface Report {
  requestId: string;
  durationMs: number;
  memorySizeMb: number;
  maxMemoryUsedBytes: number;
  initDurationMs?: number;
  /** Set for platform-level failures, as newer Lambda REPORT lines do. */
  status?: 'timeout' | 'error';
  errorType?: string;
}

export function reportLine(report: Report): string {
  const usedMb = Math.max(1, Math.round(report.maxMemoryUsedBytes / (1024 * 1024)));
  let line =
    `REPORT RequestId: ${report.requestId}\tDuration: ${ms(report.durationMs)}\t` +
    `Billed Duration: ${Math.max(1, Math.ceil(report.durationMs))} ms\t` +
    `Memory Size: ${report.memorySizeMb} MB\tMax Memory Used: ${usedMb} MB\t`;
  if (report.initDurationMs !== undefined) line += `Init Duration: ${ms(report.initDurationMs)}\t`;
  if (report.status) line += `Status: ${report.status}\t`;
  if (report.errorType) line += `Error Type: ${report.errorType}\t`;
  return line;
}

export const timeoutLine = (now: Date, requestId: string, timeoutSeconds: number) =>
  `${now.toISOString()} ${requestId} Task timed out after ${timeoutSeconds.toFixed(2)} seconds`;

export const initStartLine = (runtime: string) => `INIT_START Runtime Version: ${runtime}`;

export const initReportLine = (durationMs: number, status: 'error' | 'timeout', errorType: string) =>
  `INIT_REPORT Init Duration: ${ms(durationMs)}\tPhase: init\tStatus: ${status}\tError Type: ${errorType}`;
