// The lines lamina-launch (runtime-image/agent/launcher/lamina-launch.c) sends on its control
// connection, parsed (pure). The agent writes "start"; the launcher answers "pid <n>" or
// "error <errno> <path>", then "exit <status>" or "signal <number>" once the program is gone.
import { constants } from 'node:os';

export type LaunchReport =
  | { kind: 'pid'; pid: number }
  | { kind: 'error'; code: string; path: string }
  | { kind: 'exit'; code: number | null; signal: NodeJS.Signals | null };

/** Number → name, the first of aliases (SIGABRT, not SIGIOT; EAGAIN, not EWOULDBLOCK). */
function byNumber<T extends string>(table: Record<string, number>): Map<number, T> {
  const names = new Map<number, T>();
  for (const [name, n] of Object.entries(table)) if (!names.has(n)) names.set(n, name as T);
  return names;
}

const signalNames = byNumber<NodeJS.Signals>(constants.signals);
const errnoNames = byNumber<string>(constants.errno);

export function parseLaunchReport(line: string): LaunchReport | undefined {
  const match = /^(pid|error|exit|signal) (\d+)(?: (.*))?$/.exec(line.replace(/\n$/, ''));
  if (!match) return undefined;
  const value = Number(match[2]);
  switch (match[1]) {
    case 'pid':
      return { kind: 'pid', pid: value };
    case 'error':
      return { kind: 'error', code: errnoNames.get(value) ?? `errno ${value}`, path: match[3] ?? '' };
    case 'exit':
      return { kind: 'exit', code: value, signal: null };
    default:
      return { kind: 'exit', code: null, signal: signalNames.get(value) ?? 'SIGKILL' };
  }
}
