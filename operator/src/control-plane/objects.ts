// The Kubernetes side of the control plane, as a port (`LaminaObjects`) and the one function
// that turns the API server's refusals into Lambda's errors. The adapter is ResourceClient
// (kube/custom-objects.ts) acting as the gateway's identity; the operator stays the only
// reconciler — this code writes specs and reads statuses, never status.
import type { V1Role, V1RoleBinding } from '@kubernetes/client-node';
import type { Alias, EventSourceMapping, LaminaFunction, Layer, Version } from '../api/index.js';
import {
  InvalidParameterValueException,
  LambdaError,
  PreconditionFailedException,
  ResourceConflictException,
  ResourceNotFoundException,
  ServiceException,
} from '../errors.js';
import { apiMessage, apiReason, apiStatus, isConflict } from '../kube/index.js';
import type { MergePatch, ResourceClient } from '../kube/index.js';
import { revisionIdOf } from './configuration.js';

export type Objects<T extends LaminaFunction | Version | Alias | Layer | EventSourceMapping> = Pick<
  ResourceClient<T>,
  'get' | 'list' | 'create' | 'patch' | 'delete'
>;

/** The RBAC objects that hold functions' policies (function-policy.ts). */
export interface PolicyObjects {
  getRole(namespace: string, name: string): Promise<V1Role | undefined>;
  createRole(namespace: string, role: V1Role): Promise<V1Role>;
  listBindings(namespace: string, labelSelector: string): Promise<V1RoleBinding[]>;
  getBinding(namespace: string, name: string): Promise<V1RoleBinding | undefined>;
  createBinding(namespace: string, binding: V1RoleBinding): Promise<V1RoleBinding>;
  deleteBinding(namespace: string, name: string): Promise<void>;
}

export interface LaminaObjects {
  functions: Objects<LaminaFunction>;
  versions: Objects<Version>;
  aliases: Objects<Alias>;
  layers: Objects<Layer>;
  eventSourceMappings: Objects<EventSourceMapping>;
  policies: PolicyObjects;
}

export type { MergePatch };

/** An API server refusal as Lambda's error; `what` names the resource for messages. */
export function kubeErrorAsLambda(err: unknown, what: string): LambdaError {
  if (err instanceof LambdaError) return err;
  const status = apiStatus(err);
  const reason = apiReason(err);
  if (status === 409 && reason === 'AlreadyExists')
    return new ResourceConflictException(`${what} already exist`);
  if (status === 409)
    return new PreconditionFailedException(`${what} changed meanwhile; read it again and retry`);
  if (status === 404) return new ResourceNotFoundException(`${what} not found`);
  if (status === 422 || status === 400)
    return new InvalidParameterValueException(`The Kubernetes API refused ${what}: ${apiMessage(err)}`);
  return new ServiceException(`The Kubernetes API failed on ${what}: ${apiMessage(err)}`);
}

/** Runs a Kubernetes call, mapping its refusal. */
export async function kube<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw kubeErrorAsLambda(err, what);
  }
}

const CONFLICT_RETRIES = 5;

/**
 * A merge patch computed from the object as it is now, applied only to that exact
 * resourceVersion. A conflict caused by someone else's status or metadata write is retried on
 * a fresh read; a change of the spec since `expectedRevision` is PreconditionFailed.
 */
export async function patchAtRevision<T extends LaminaFunction | Version | Alias | Layer>(
  objects: Objects<T>,
  what: string,
  namespace: string,
  name: string,
  patch: (current: T) => MergePatch,
  expectedRevision?: string,
): Promise<T> {
  for (let attempt = 0; attempt < CONFLICT_RETRIES; attempt++) {
    const current = await kube(what, () => objects.get(namespace, name));
    if (!current || current.metadata.deletionTimestamp)
      throw new ResourceNotFoundException(`${what} not found`);
    if (expectedRevision !== undefined && revisionIdOf(current.metadata) !== expectedRevision) {
      throw PreconditionFailedException.revision(expectedRevision);
    }
    const body = patch(current);
    try {
      return await objects.patch(namespace, name, body, current.metadata.resourceVersion);
    } catch (err) {
      if (isConflict(err)) continue;
      throw kubeErrorAsLambda(err, what);
    }
  }
  throw new ResourceConflictException(
    `The operation cannot be performed at this time. An update is in progress for ${what}.`,
  );
}
