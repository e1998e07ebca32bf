// Reads the example and fixture manifests the API tests apply.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface Manifest {
  file: string;
  /** For invalid fixtures: the text the rejection message must contain (`# expect: …`). */
  expect?: string;
  object: {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string };
    spec?: unknown;
  };
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return yamlFiles(path);
      return name.endsWith('.yaml') ? [path] : [];
    });
}

export function loadManifests(dir: string): Manifest[] {
  return yamlFiles(join(repoRoot, dir)).flatMap((path) => {
    const text = readFileSync(path, 'utf8');
    const expect = /^# expect: (.+)$/m.exec(text)?.[1]?.trim();
    return parseAllDocuments(text)
      .map((doc) => doc.toJS() as Manifest['object'] | null)
      .filter((object): object is Manifest['object'] => object !== null)
      .map((object) => ({ file: relative(repoRoot, path), expect, object }));
  });
}

export const laminaManifests = (dir: string) =>
  loadManifests(dir).filter((m) => m.object.apiVersion.startsWith('lamina.dev/'));
