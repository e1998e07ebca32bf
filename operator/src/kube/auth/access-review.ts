// The two questions Lamina asks Kubernetes about a caller, as a port: who does this token
// belong to (TokenReview), and may that user do this (SubjectAccessReview). The adapter is
// kubernetes-reviewer.ts; tests use an in-memory one.

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** A SubjectAccessReview's resourceAttributes. No namespace = a cluster-scoped question. */
export interface ResourceAttributes {
  group: string;
  resource: string;
  verb: string;
  namespace?: string;
  name?: string;
}

export interface AccessReviewer {
  /** The token's user, or undefined when the API server does not accept the token. */
  authenticate(token: string): Promise<UserInfo | undefined>;
  authorize(user: UserInfo, attributes: ResourceAttributes): Promise<{ allowed: boolean; reason?: string }>;
}

/** The API group of Lamina's resources and pseudo-resources. */
export const LAMINA_GROUP = 'lamina.dev';

/** Invoke permission: `invoke` on functions.lamina.dev/<name> in the function's namespace. */
export function invokeAttributes(namespace: string, name: string): ResourceAttributes {
  return { group: LAMINA_GROUP, resource: 'functions', verb: 'invoke', namespace, name };
}

/** Artifact-store permission: <verb> on the cluster-scoped pseudo-resource artifacts.lamina.dev. */
export function artifactAttributes(verb: 'create' | 'delete' | 'list'): ResourceAttributes {
  return { group: LAMINA_GROUP, resource: 'artifacts', verb };
}
