// ES-module handlers import packages from layers, as on Lambda's Node.js 18+ runtimes. Node's
// ESM resolution ignores NODE_PATH, so a resolve hook retries a bare specifier that was not
// found from the importing file in each node_modules directory of NODE_PATH, in order (the
// same directories, in the same order, that CommonJS `require` searches).
//
// Registering a hook starts Node's loader thread (~35 ms), so it happens only for an ES-module
// handler, and only when a layer provides a node_modules directory.
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

let registered = false;

export function resolveBareImportsFromLayers() {
  if (registered) return;
  const dirs = (process.env.NODE_PATH ?? '')
    .split(':')
    .filter((dir) => path.basename(dir) === 'node_modules' && existsSync(dir));
  if (dirs.length === 0) return;
  registered = true;
  // A parent URL beside each node_modules directory makes Node's own resolution look in it.
  const parents = dirs.map((dir) => pathToFileURL(path.join(path.dirname(dir), 'layer-import.mjs')).href);
  register('./layer-resolve-hooks.mjs', { parentURL: import.meta.url, data: { parents } });
}
