// External extensions: every executable file in <opt>/extensions (layers put them there),
// started in name order before the runtime, with the runtime's environment, each in its own
// process group; their output goes to the function log (and to Telemetry API subscribers as
// `extension` events).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { LogSink } from './logs.js';
import { ProcMemoryWatch } from './memory.js';
import { RuntimeProcess } from './runtime-process.js';

/** The executables of `<optRoot>/extensions`, by name (Lambda starts them in alphabetical order). */
export function externalExtensions(optRoot: string): string[] {
  const dir = join(optRoot, 'extensions');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((name) => {
      try {
        const info = statSync(join(dir, name));
        return info.isFile() && (info.mode & 0o111) !== 0;
      } catch {
        return false;
      }
    })
    .sort();
}

export interface ExtensionProcess {
  name: string;
  proc: RuntimeProcess;
}

export function startExtensions(
  optRoot: string,
  names: string[],
  env: Record<string, string>,
  cwd: string,
  log: LogSink,
  memorySizeMb: number,
): ExtensionProcess[] {
  return names.map((name) => {
    const command = join(optRoot, 'extensions', name);
    const launch = { command, args: [], env, cwd };
    const proc = new RuntimeProcess(launch, new ProcMemoryWatch(memorySizeMb * 1024 * 1024), log);
    return { name, proc };
  });
}
