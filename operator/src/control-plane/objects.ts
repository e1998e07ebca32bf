// The Kubernetes side of the control plane, as a port (`LaminaObjects`) and the one function
// that turns the API server's refusals into Lambda's errors. The adapter is ResourceClient
// (kube/custom-objects.ts) acting as the gateway's identity; the operator stays the only
// reconciler — this code writes specs and reads statuses, never status.
import type { Alias, LaminaFunction, Version } from '../api/index.js';
import {
  InvalidParameterValueException,
  LambdaError,
  PreconditionFailedException,
  ResourceConflictException,
  ResourceNotFoundException,
  ServiceException,
} from '../errors.js';
import { apiMessage, apiReason, apiStatus } from '../kube/errors.js';
import type { MergePatch, ResourceClient } from '../kube/custom-objects.js';

export type Objects<T extends LaminaFunction | Version | Alias> = Pick<
  ResourceClient<T>,
  'get' | 'list' | 'create' | 'patch' | 'delete'
>;

export interface LaminaObjects {
  functions: Objects<LaminaFunction>;
  versions: Objects<Version>;
  aliases: Objects<Alias>;
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
