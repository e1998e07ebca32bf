// When an image function's tag is resolved to a digest again (pure). Lambda resolves the
// ImageUri at every UpdateFunctionCode, even one naming the same tag; since that changes nothing
// in the spec, it is asked for with the annotation lamina.dev/resolve-image set to any new value
// (the control plane's UpdateFunctionCode sets one; with kubectl, `kubectl annotate fn f
// lamina.dev/resolve-image="$(date +%s)" --overwrite`). The operator records the value it last
// resolved for in status.imageResolvedFor, so a request is answered once, also across restarts.
import type { FunctionStatus, ImageReference } from '../api/index.js';

export const RESOLVE_IMAGE_ANNOTATION = 'lamina.dev/resolve-image';

/** status.imageResolvedFor's limit: a longer value counts by its first 1024 characters. */
const RECORDED_LENGTH = 1024;

/** What the decision reads of a Function. */
export interface ImageFunctionFacts {
  metadata: { generation?: number; annotations?: Record<string, string> };
  spec: { image?: unknown };
  status?: FunctionStatus;
}

/** The annotation's value: the resolution asked for last (undefined: none asked for). */
export function imageResolutionRequested(fn: ImageFunctionFacts): string | undefined {
  if (fn.spec.image === undefined) return undefined;
  return fn.metadata.annotations?.[RESOLVE_IMAGE_ANNOTATION]?.slice(0, RECORDED_LENGTH);
}

/** An image function whose resolution was asked for and not yet recorded by the operator. */
export function imageResolutionPending(fn: ImageFunctionFacts): boolean {
  const requested = imageResolutionRequested(fn);
  return requested !== undefined && requested !== fn.status?.imageResolvedFor;
}

/**
 * Whether to ask the registry for the tag's digest again: at a change of the spec, when the
 * function is not Active, when status pins another repository, or when asked (the annotation);
 * otherwise the digest in status stands (a moved tag is not followed by itself, as on Lambda).
 */
export function mustResolveImage(fn: ImageFunctionFacts, ref: ImageReference): boolean {
  const status = fn.status;
  const pinned = status?.resolvedImageUri?.startsWith(`${ref.registry}/${ref.repository}@`) ?? false;
  const settled =
    status?.observedGeneration === fn.metadata.generation && status?.state === 'Active' && pinned;
  return !settled || imageResolutionPending(fn);
}
