// Layers a Function names are checked when the call is made, as Lambda does, with the
// operator's own pure rules (controller/layer-pins.ts): a missing, deleted, unshared or
// incompatible layer version is refused before anything is written.
import type { Layer, LayerReference, PinnedLayer } from '../api/index.js';
import { parseLayerName, Reason, resolveLayerPins } from '../controller/index.js';
import { AccessDeniedException, InvalidParameterValueException } from '../errors.js';
import type { ControlPlaneContext } from './context.js';
import { kube } from './objects.js';

export async function checkLayers(
  ctx: ControlPlaneContext,
  functionNamespace: string,
  runtime: string,
  references: readonly LayerReference[] | undefined,
  previous: readonly PinnedLayer[] = [],
): Promise<void> {
  if (!references?.length) return;
  const layers = new Map<string, Layer | undefined>();
  for (const reference of references) {
    const { namespace, name } = parseLayerName(reference.name, functionNamespace);
    const key = `${namespace}/${name}`;
    if (!layers.has(key))
      layers.set(key, await kube('the layer', () => ctx.objects.layers.get(namespace, name)));
  }
  const result = resolveLayerPins({
    functionNamespace,
    runtime,
    references,
    previous,
    lookup: (namespace, name) => layers.get(`${namespace}/${name}`),
  });
  if (result.ok) return;
  if (result.reasonCode === Reason.LayerAccessDenied) throw new AccessDeniedException(result.message);
  throw new InvalidParameterValueException(result.message);
}
