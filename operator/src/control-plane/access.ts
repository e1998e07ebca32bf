// Who may call the control plane. With invoke auth on, every call is a Kubernetes question
// about the caller's token (TokenReview + SubjectAccessReview, the gateway's authorizer) with
// the verb RBAC already knows: create/get/list/update/delete on functions, versions or aliases
// of lamina.dev in the function's namespace. With it off, every call is allowed and acts as
// the gateway's own identity (local use).
import {
  AccessDeniedException,
  MissingAuthenticationTokenException,
  ServiceException,
  TooManyRequestsException,
  UnrecognizedClientException,
} from '../errors.js';
import { LAMINA_GROUP } from '../kube/index.js';
import type { AuthDecision, HeaderBag } from '../kube/index.js';

/** `invoke` is asked of AddPermission's caller: nobody grants invoke they do not hold. */
export type Verb = 'create' | 'get' | 'list' | 'update' | 'delete' | 'invoke';
export type Resource = 'functions' | 'versions' | 'aliases' | 'layers' | 'eventsourcemappings';

export interface ControlPlaneAccess {
  /** Resolves when allowed; throws Lambda's error otherwise. */
  authorize(
    headers: HeaderBag,
    operation: string,
    verb: Verb,
    resource: Resource,
    namespace: string,
    name?: string,
  ): Promise<void>;
}

export const allowEveryone: ControlPlaneAccess = { authorize: async () => undefined };

export interface DecisionSource {
  check(
    headers: HeaderBag,
    attributes: { group: string; resource: string; verb: string; namespace?: string; name?: string },
  ): Promise<AuthDecision>;
}

export function kubernetesAccess(source: DecisionSource): ControlPlaneAccess {
  return {
    async authorize(headers, operation, verb, resource, namespace, name) {
      const decision = await source.check(headers, {
        group: LAMINA_GROUP,
        resource,
        verb,
        namespace,
        ...(name !== undefined && { name }),
      });
      switch (decision.outcome) {
        case 'allowed':
          return;
        case 'unauthenticated':
          if (decision.why === 'no token')
            throw new MissingAuthenticationTokenException(
              'Missing Authentication Token: send a Kubernetes token as "Authorization: Bearer <token>" or "X-Lamina-Token: <token>".',
            );
          throw new UnrecognizedClientException('The security token included in the request is invalid.');
        case 'denied':
          throw new AccessDeniedException(
            `User: ${decision.user} is not authorized to perform: lambda:${operation} because no RBAC rule allows ` +
              `verb "${verb}" on ${resource}.lamina.dev${name ? ` "${name}"` : ''} in namespace "${namespace}"`,
          );
        case 'throttled':
          throw new TooManyRequestsException('CallerRateLimitExceeded', 1);
        case 'unavailable':
          throw new ServiceException('The gateway could not verify the caller. Retry later.');
      }
    },
  };
}
