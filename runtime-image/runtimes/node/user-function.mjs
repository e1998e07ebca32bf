// Finds and loads the handler named by _HANDLER ("src/app/index.handler", "index.a.b"):
// CommonJS or ES module, .js (by the nearest package.json "type"), .mjs, .cjs, or a package
// name resolved from the task root — the lookup order of AWS's Node.js runtime client.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { HandlerNotFound, ImportModuleError, MalformedHandlerName, UserCodeSyntaxError } from './errors.mjs';
import { preferLayersInRequire, resolveBareImportsFromLayers } from './layer-resolve.mjs';

const require = createRequire(import.meta.url);

function hasTypeModule(folder) {
  if (folder.endsWith('/node_modules')) return false;
  const manifest = path.join(folder, 'package.json');
  if (existsSync(manifest)) {
    try {
      return JSON.parse(readFileSync(manifest, 'utf8'))?.type === 'module';
    } catch (err) {
      console.warn(`${manifest} cannot be read, it will be ignored for ES module detection purposes.`, err);
      return false;
    }
  }
  const parent = path.resolve(folder, '..');
  return parent === folder ? false : hasTypeModule(parent);
}

const importFile = async (taskRoot, file) => {
  resolveBareImportsFromLayers(taskRoot);
  return import(pathToFileURL(file).href);
};

async function loadModule(taskRoot, moduleRoot, moduleName) {
  preferLayersInRequire(taskRoot);
  const base = path.resolve(taskRoot, moduleRoot, moduleName);
  if (existsSync(base)) return require(base);
  const esm = hasTypeModule(path.dirname(base));
  if (existsSync(`${base}.js`)) return esm ? importFile(taskRoot, `${base}.js`) : require(`${base}.js`);
  if (existsSync(`${base}.mjs`)) return importFile(taskRoot, `${base}.mjs`);
  if (existsSync(`${base}.cjs`)) return require(`${base}.cjs`);
  // Not a file of the task: maybe a package ("handler": "my-package.handler").
  return require(require.resolve(moduleName, { paths: [taskRoot, path.resolve(taskRoot, moduleRoot)] }));
}

export async function loadHandler(taskRoot, fullHandler) {
  if (fullHandler.includes('..')) {
    throw new MalformedHandlerName(
      `'${fullHandler}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const handlerString = path.basename(fullHandler);
  const moduleRoot = fullHandler.substring(0, fullHandler.indexOf(handlerString));
  const match = /^([^.]*)\.(.*)$/.exec(handlerString);
  if (!match) throw new MalformedHandlerName('Bad handler');
  const [, moduleName, exportPath] = match;

  let app;
  try {
    app = await loadModule(taskRoot, moduleRoot, moduleName);
  } catch (err) {
    if (err instanceof SyntaxError) throw new UserCodeSyntaxError(err);
    if (err?.code === 'MODULE_NOT_FOUND' || err?.code === 'ERR_MODULE_NOT_FOUND')
      throw new ImportModuleError(err);
    throw err;
  }
  const handler = exportPath.split('.').reduce((object, key) => object?.[key], app);
  if (!handler) throw new HandlerNotFound(`${fullHandler} is undefined or not exported`);
  if (typeof handler !== 'function') throw new HandlerNotFound(`${fullHandler} is not a function`);
  return handler;
}
