// The gateway's face of the authorizer: Invoke API callers get Lambda's error shapes
// (errors.ts), function URLs Lambda's bare 403 "Forbidden". Status codes:
//   no token                  → 403 MissingAuthenticationTokenException
//   token malformed/rejected  → 403 UnrecognizedClientException
//   no RBAC verb `invoke`     → 403 AccessDeniedException
//   too many reviews at once  → 429 TooManyRequestsException (CallerRateLimitExceeded)
//   API server unreachable    → 500 ServiceException (fail closed)
import {
  AccessDeniedException,
  MissingAuthenticationTokenException,
  ServiceException,
  TooManyRequestsException,
  UnrecognizedClientException,
} from '../../errors.js';
import type { Logger } from '../../shared/index.js';
import { type HttpRequest, joinedHeaders } from '../events/http-request.js';
import { invokeAttributes } from '../../kube/index.js';
import type { AuthDecision, HeaderBag, KubernetesAuthorizer } from '../../kube/index.js';

/** Checks an Invoke API call; resolves when allowed, throws the Lambda error otherwise. */
/** Decides whether a function URL request (authType AWS_IAM) may invoke the function. */
export interface UrlAuthorizer {
  authorize(request: HttpRequest, namespace: string, functionName: string): Promise<boolean>;
}

export interface InvokeAuthorizer {
  authorizeInvoke(headers: HeaderBag, namespace: string, functionName: string): Promise<void>;
}

function functionArn(region: string, namespace: string, name: string): string {
  return `arn:aws:lambda:${region}:${namespace}:function:${name}`;
}

/** Throttling and outages are errors on both APIs; allow/deny is returned. */
function unlessUnavailable(decision: AuthDecision, log: Logger): AuthDecision {
  if (decision.outcome === 'throttled') {
    throw new TooManyRequestsException('CallerRateLimitExceeded', 1);
  }
  if (decision.outcome === 'unavailable') {
    log.error('cannot review the caller with the Kubernetes API', { error: decision.error });
    throw new ServiceException('The gateway could not verify the caller. Retry later.');
  }
  return decision;
}

export class LambdaAuthorizer implements InvokeAuthorizer, UrlAuthorizer {
  constructor(
    private readonly authorizer: KubernetesAuthorizer,
    private readonly region: string,
    private readonly log: Logger,
  ) {}

  async authorizeInvoke(headers: HeaderBag, namespace: string, functionName: string): Promise<void> {
    const decision = unlessUnavailable(
      await this.authorizer.check(headers, invokeAttributes(namespace, functionName)),
      this.log,
    );
    switch (decision.outcome) {
      case 'allowed':
        return;
      case 'unauthenticated':
        if (decision.why === 'no token') {
          throw new MissingAuthenticationTokenException(
            'Missing Authentication Token: send a Kubernetes token as "Authorization: Bearer <token>" or "X-Lamina-Token: <token>".',
          );
        }
        throw new UnrecognizedClientException('The security token included in the request is invalid.');
      case 'denied':
        throw new AccessDeniedException(
          `User: ${decision.user} is not authorized to perform: lambda:InvokeFunction on resource: ` +
            `${functionArn(this.region, namespace, functionName)} because no RBAC rule allows verb ` +
            `"invoke" on functions.lamina.dev "${functionName}" in namespace "${namespace}"`,
        );
    }
    throw new ServiceException('unexpected authorization outcome');
  }

  async authorize(request: HttpRequest, namespace: string, functionName: string): Promise<boolean> {
    const decision = unlessUnavailable(
      await this.authorizer.check(joinedHeaders(request.headers), invokeAttributes(namespace, functionName)),
      this.log,
    );
    return decision.outcome === 'allowed';
  }
}
