// ownerReferences and finalizers as plain data. A Version or Alias is owned by its Function,
// so deleting the Function lets the garbage collector delete them (and the pods the gateway
// created with the same owner).
import type { V1OwnerReference } from '@kubernetes/client-node';

interface Owner {
  apiVersion: string;
  kind: string;
  metadata: { name: string; uid?: string };
}

export function controllerReference(owner: Owner): V1OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The object's owner references with `owner` as controller (replacing another controller of the same kind and name). */
export function withControllerReference(
  existing: readonly V1OwnerReference[] | undefined,
  owner: Owner,
): { refs: V1OwnerReference[]; changed: boolean } {
  const refs = existing ?? [];
  if (refs.some((r) => r.uid === owner.metadata.uid && r.controller))
    return { refs: [...refs], changed: false };
  const others = refs.filter(
    (r) => !(r.kind === owner.kind && r.name === owner.metadata.name) && !r.controller,
  );
  return { refs: [...others, controllerReference(owner)], changed: true };
}
