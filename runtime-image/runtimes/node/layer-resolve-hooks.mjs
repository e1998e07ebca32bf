// Module resolution hooks (run on Node's loader thread); see layer-resolve.mjs.
// `parents`: a file URL beside each layer node_modules directory, in NODE_PATH order.
// `shadowed`: the runtime's node_modules (URL prefix) when Node finds it on its own; a package
// found there is a layer's if a layer has it, except for the runtime's own packages' imports.
let parents = [];
let shadowed;

export function initialize(data) {
  parents = data.parents;
  shadowed = data.shadowed;
}

const isBare = (specifier) => !/^(\.{0,2}\/|[a-z][a-z0-9+.-]*:)/i.test(specifier);
const inRuntime = (url) => shadowed !== undefined && url !== undefined && url.startsWith(shadowed);

async function fromLayers(specifier, context, nextResolve) {
  for (const parentURL of parents) {
    try {
      const found = await nextResolve(specifier, { ...context, parentURL });
      if (!inRuntime(found.url)) return found;
    } catch (err) {
      if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    }
  }
  return undefined;
}

export async function resolve(specifier, context, nextResolve) {
  if (!isBare(specifier)) return nextResolve(specifier, context);
  let found;
  try {
    found = await nextResolve(specifier, context);
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    const layered = await fromLayers(specifier, context, nextResolve);
    if (layered) return layered;
    throw err;
  }
  if (!inRuntime(found.url) || inRuntime(context.parentURL)) return found;
  return (await fromLayers(specifier, context, nextResolve)) ?? found;
}
