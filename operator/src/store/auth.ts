// Who may write to the artifact store. Reads of one blob (GET/HEAD /blobs/sha256/<hex>) stay
// open: execution environments fetch code by digest and verify it, and a digest is only
// known to those who can read the Function or Layer naming it. Everything else is a
// cluster-scoped question about the pseudo-resource artifacts.lamina.dev:
//   POST /blobs, PUT /blobs/sha256/<hex>  → verb create
//   DELETE /blobs/sha256/<hex>            → verb delete
//   GET /blobs (the list of every digest) → verb list
// Answers: no or rejected token → 401 (with WWW-Authenticate: Bearer), no RBAC rule → 403,
// too many reviews at once → 429, API server unreachable → 503. Nothing is ever allowed
// because the API server could not be asked.
import {
  artifactAttributes,
  type AuthDecision,
  KubernetesAccessReviewer,
  KubernetesAuthorizer,
  loadKubeConfig,
  type HeaderBag,
  type ResourceAttributes,
} from '../kube/index.js';
import type { Logger } from '../shared/index.js';
import { StoreError } from './errors.js';

export interface StoreAccess {
  check(headers: HeaderBag, attributes: ResourceAttributes): Promise<AuthDecision>;
}

/** The question a request asks, or undefined for the open reads. `route` is the route pattern. */
export function storeOperation(method: string, route: string | undefined): ResourceAttributes | undefined {
  if (route === '/blobs') {
    if (method === 'POST') return artifactAttributes('create');
    if (method === 'GET') return artifactAttributes('list');
  }
  if (route === '/blobs/sha256/:sha256') {
    if (method === 'PUT') return artifactAttributes('create');
    if (method === 'DELETE') return artifactAttributes('delete');
  }
  return undefined;
}

/** The StoreError for a decision that is not "allowed", or undefined when it is. */
export function storeAuthError(
  decision: AuthDecision,
  attributes: ResourceAttributes,
): StoreError | undefined {
  switch (decision.outcome) {
    case 'allowed':
      return undefined;
    case 'unauthenticated':
      return new StoreError(
        'UnauthorizedException',
        `The artifact store needs a Kubernetes token ("Authorization: Bearer <token>") for this operation (${decision.why})`,
        401,
      );
    case 'denied':
      return new StoreError(
        'AccessDeniedException',
        `User: ${decision.user} is not allowed to ${attributes.verb} artifacts.lamina.dev`,
        403,
      );
    case 'throttled':
      return new StoreError('TooManyRequestsException', 'Too many authorization reviews in flight', 429);
    case 'unavailable':
      return new StoreError(
        'ServiceUnavailableException',
        'The caller could not be verified; retry later',
        503,
      );
  }
}

/** The store's TokenReview + SubjectAccessReview, with the pod's own identity (or KUBECONFIG). */
export function kubernetesStoreAccess(options: { audiences: string[]; log?: Logger }): StoreAccess {
  const kc = loadKubeConfig();
  const authorizer = new KubernetesAuthorizer(
    new KubernetesAccessReviewer(kc, { audiences: options.audiences }),
    {
      now: Date.now,
    },
  );
  return {
    async check(headers, attributes) {
      const decision = await authorizer.check(headers, attributes);
      if (decision.outcome === 'unavailable') {
        options.log?.error('cannot review the caller with the Kubernetes API', { error: decision.error });
      }
      return decision;
    },
  };
}
