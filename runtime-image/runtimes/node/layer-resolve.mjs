// Where a handler's bare imports are found, with Lambda's precedence: the function's own
// node_modules, then the layers' (NODE_PATH: /opt/nodejs/node20/node_modules,
// /opt/nodejs/node_modules), then the runtime's (the AWS SDK in /var/runtime/node_modules).
//
// ES-module resolution ignores NODE_PATH. The image therefore links /var/node_modules to the
// runtime's node_modules: from /var/task, Node's own lookup (task, then its parent) finds the
// function's packages first and the runtime's next, with no resolve hook. A hook starts Node's
// loader thread (tens of milliseconds of every cold start), so it is registered only when a
// layer provides a node_modules directory; it then puts the layers back between the two:
// a bare specifier that Node found in the runtime's node_modules, or not at all, is looked up
// in the layers first. CommonJS would meet the same link before NODE_PATH, so when layers are
// present their directories are inserted in front of it in each module's lookup paths.
// A task root without the link (not beside the runtime's node_modules) keeps the hook for
// every NODE_PATH directory, the runtime's included.
import { realpathSync } from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const realpath = (dir) => {
  try {
    return realpathSync(dir);
  } catch {
    return undefined;
  }
};

let plan;

/** What resolution needs for this task root, worked out once. */
function resolutionPlan(taskRoot) {
  if (plan) return plan;
  const runtimeModules = realpath(
    path.join(process.env.LAMBDA_RUNTIME_DIR ?? '/var/runtime', 'node_modules'),
  );
  const besideTask = path.join(path.dirname(path.resolve(taskRoot)), 'node_modules');
  // Is the runtime's node_modules on Node's own lookup path from the task (the image's link)?
  const linked = runtimeModules !== undefined && realpath(besideTask) === runtimeModules;
  const searched = (process.env.NODE_PATH ?? '')
    .split(':')
    .filter((dir) => path.basename(dir) === 'node_modules' && realpath(dir) !== undefined);
  const layers = linked ? searched.filter((dir) => realpath(dir) !== runtimeModules) : searched;
  plan = {
    layers,
    besideTask: linked ? besideTask : undefined,
    runtimeModules: linked ? runtimeModules : undefined,
  };
  return plan;
}

let requirePatched = false;

/** CommonJS: the layers' directories come before the linked runtime node_modules. */
export function preferLayersInRequire(taskRoot) {
  const { layers, besideTask } = resolutionPlan(taskRoot);
  if (requirePatched || layers.length === 0 || besideTask === undefined) return;
  requirePatched = true;
  const nodeModulePaths = Module._nodeModulePaths;
  Module._nodeModulePaths = function (from) {
    const paths = nodeModulePaths.call(this, from);
    const at = paths.indexOf(besideTask);
    if (at >= 0) paths.splice(at, 0, ...layers);
    return paths;
  };
}

let hookRegistered = false;

/** ES modules: registers the resolve hook, only if there is something Node would not find. */
export function resolveBareImportsFromLayers(taskRoot) {
  const { layers, runtimeModules } = resolutionPlan(taskRoot);
  if (hookRegistered || layers.length === 0) return;
  hookRegistered = true;
  // A parent URL beside each node_modules directory makes Node's own resolution look in it.
  const parents = layers.map((dir) => pathToFileURL(path.join(path.dirname(dir), 'layer-import.mjs')).href);
  const shadowed = runtimeModules === undefined ? undefined : `${pathToFileURL(runtimeModules).href}/`;
  Module.register('./layer-resolve-hooks.mjs', { parentURL: import.meta.url, data: { parents, shadowed } });
}
