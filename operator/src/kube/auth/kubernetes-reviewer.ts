// AccessReviewer on the Kubernetes API: TokenReview (authentication.k8s.io/v1) and
// SubjectAccessReview (authorization.k8s.io/v1). The calling identity needs `create` on both
// (the chart's gateway and operator ClusterRoles carry it).
import { AuthenticationV1Api, AuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { AccessReviewer, ResourceAttributes, UserInfo } from './access-review.js';

export interface KubernetesReviewerOptions {
  /**
   * Audiences the token must be meant for. Empty: the API server's own audience. A dedicated
   * audience (`kubectl create token … --audience lamina`) keeps the token useless against
   * the API server itself.
   */
  audiences?: string[];
}

export class KubernetesAccessReviewer implements AccessReviewer {
  private readonly authentication: AuthenticationV1Api;
  private readonly authorization: AuthorizationV1Api;

  constructor(
    kc: KubeConfig,
    private readonly options: KubernetesReviewerOptions = {},
  ) {
    this.authentication = kc.makeApiClient(AuthenticationV1Api);
    this.authorization = kc.makeApiClient(AuthorizationV1Api);
  }

  async authenticate(token: string): Promise<UserInfo | undefined> {
    const audiences = this.options.audiences ?? [];
    const review = await this.authentication.createTokenReview({
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token, ...(audiences.length > 0 ? { audiences } : {}) },
      },
    });
    const status = review.status;
    if (!status?.authenticated || !status.user?.username) return undefined;
    const { username, uid, groups, extra } = status.user;
    return {
      username,
      groups: groups ?? [],
      ...(uid ? { uid } : {}),
      ...(extra ? { extra } : {}),
    };
  }

  async authorize(user: UserInfo, attributes: ResourceAttributes) {
    const review = await this.authorization.createSubjectAccessReview({
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: user.username,
          groups: user.groups,
          ...(user.uid ? { uid: user.uid } : {}),
          ...(user.extra ? { extra: user.extra } : {}),
          resourceAttributes: {
            group: attributes.group,
            resource: attributes.resource,
            verb: attributes.verb,
            ...(attributes.namespace ? { namespace: attributes.namespace } : {}),
            ...(attributes.name ? { name: attributes.name } : {}),
          },
        },
      },
    });
    const status = review.status;
    const allowed = status?.allowed === true && status.denied !== true;
    return { allowed, ...(status?.reason ? { reason: status.reason } : {}) };
  }
}
