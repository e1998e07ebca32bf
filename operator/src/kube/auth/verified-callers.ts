// Callers that proved who they are by something other than a Kubernetes token — a SigV4
// signature by an access key mapped to a ServiceAccount — recorded per request and consulted
// by KubernetesAuthorizer instead of a TokenReview; SubjectAccessReview then decides as for a
// token. Keyed by the request's header object, which lives as long as the request: nothing a
// client sends can put an entry here.
import type { UserInfo } from './access-review.js';
import type { HeaderBag } from './credentials.js';

export class VerifiedCallers {
  private readonly users = new WeakMap<HeaderBag, UserInfo>();

  record(headers: HeaderBag, user: UserInfo): void {
    this.users.set(headers, user);
  }

  userOf(headers: HeaderBag): UserInfo | undefined {
    return this.users.get(headers);
  }
}
