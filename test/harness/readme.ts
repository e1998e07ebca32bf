// Reads the README's walkthrough as a list of steps, so a test can run it as written.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './manifests.js';

export type Step =
  { kind: 'file'; name: string; content: string } | { kind: 'shell'; script: string; heading: string };

/**
 * The fenced blocks of one README section, in order: a `yaml` block whose first line is
 * `# <file>` becomes a file the later commands use; an `sh` block is a script to run.
 */
export function walkthroughSteps(section = 'Walkthrough'): Step[] {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n## ${section}\n`);
  if (start < 0) throw new Error(`README has no "## ${section}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  const text = readme.slice(start, end < 0 ? undefined : end);
  const steps: Step[] = [];
  let heading = section;
  const block = /^### (.+)$|^```(\w+)\n([\s\S]*?)^```$/gm;
  for (const match of text.matchAll(block)) {
    if (match[1]) {
      heading = match[1];
      continue;
    }
    const [, , language, body = ''] = match;
    const file = /^# (\S+\.ya?ml)\n/.exec(body);
    if (language === 'yaml' && file) steps.push({ kind: 'file', name: file[1]!, content: body });
    else if (language === 'sh') steps.push({ kind: 'shell', script: body, heading });
  }
  return steps;
}
