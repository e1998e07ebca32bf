// Container-image functions (Lambda's PackageType Image): where the image is, how its entry
// point is overridden, and which Secrets the kubelet pulls it with. The runtime, handler and
// layers come from the image itself.
import { z } from 'zod';
import { ObjectName } from './common.js';

/**
 * A fully qualified image reference: `host[:port]/repository[:tag][@sha256:<digest>]`
 * (`docker.io/library/busybox:1.37`, `registry.example.com:5000/team/fn:v3`).
 */
const IMAGE_REFERENCE =
  /^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]+([._-]+[a-z0-9]+)*)+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;

export const ImageConfig = z.object({
  entryPoint: z
    .array(z.string().max(1024))
    .max(1500)
    .optional()
    .meta({ description: "Replaces the image's ENTRYPOINT." }),
  command: z
    .array(z.string().max(1024))
    .max(1500)
    .optional()
    .meta({ description: "Replaces the image's CMD (the handler, for the AWS base images)." }),
  workingDirectory: z
    .string()
    .max(1000)
    .regex(/^\//)
    .optional()
    .meta({ description: "Replaces the image's WORKDIR (an absolute path)." }),
});
export type ImageConfig = z.infer<typeof ImageConfig>;

const PullSecrets = z
  .array(z.object({ name: ObjectName }))
  .max(16)
  .meta({ description: 'Secrets (kubernetes.io/dockerconfigjson) the kubelet pulls the image with.' });

export const ImageSource = z.object({
  uri: z
    .string()
    .max(1024)
    .regex(IMAGE_REFERENCE)
    .meta({
      description:
        'host[:port]/repository[:tag][@sha256:digest]. A tag is resolved to its digest whenever the Function ' +
        'changes (status.resolvedImageUri); published versions keep that digest.',
    }),
  imageConfig: ImageConfig.optional(),
  imagePullSecrets: PullSecrets.optional(),
});
export type ImageSource = z.infer<typeof ImageSource>;

/** What a published version (and $LATEST) runs: the image pinned by digest. */
export const ImageSnapshot = z.object({
  uri: z
    .string()
    .max(1024)
    .regex(/@sha256:[a-f0-9]{64}$/)
    .meta({ description: 'The image by digest.' }),
  imageConfig: ImageConfig.optional(),
  imagePullSecrets: PullSecrets.optional(),
});
export type ImageSnapshot = z.infer<typeof ImageSnapshot>;

export interface ImageReference {
  /** host[:port] as written (docker.io stays docker.io). */
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

/** Splits a reference that matched IMAGE_REFERENCE. */
export function parseImageReference(uri: string): ImageReference {
  const [named = '', digest] = uri.split('@');
  const slash = named.indexOf('/');
  const registry = named.slice(0, slash);
  const rest = named.slice(slash + 1);
  const colon = rest.lastIndexOf(':');
  const repository = colon >= 0 ? rest.slice(0, colon) : rest;
  const tag = colon >= 0 ? rest.slice(colon + 1) : undefined;
  return { registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** `host/repository@sha256:…`: the reference with its tag replaced by the digest. */
export function pinnedImageUri(ref: ImageReference, digest: string): string {
  return `${ref.registry}/${ref.repository}@${digest}`;
}
