// Where a caller's bare function names resolve. Lambda resolves a bare name in the caller's
// account; in Lamina the account is a namespace, so a caller that Kubernetes identifies as the
// service account `system:serviceaccount:<namespace>:<name>` names functions in <namespace>.
// Callers without a namespace of their own (users, groups, no token, auth off) get the
// gateway's default namespace, as before. Names in ARNs carry their namespace and are not
// affected.
import type { HeaderBag } from './credentials.js';

/** A Kubernetes namespace name (RFC 1123 label). */
const SERVICE_ACCOUNT_USER = /^system:serviceaccount:([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?):([^:]+)$/;

/** The namespace of a service account's username; undefined for any other user (pure). */
export function namespaceOfUser(username: string | undefined): string | undefined {
  return username === undefined ? undefined : SERVICE_ACCOUNT_USER.exec(username)?.[1];
}

/** The namespace bare names resolve in for this user (pure). */
export function bareNameNamespace(username: string | undefined, defaultNamespace: string): string {
  return namespaceOfUser(username) ?? defaultNamespace;
}

/** The namespace a request's bare function names resolve in. */
export interface CallerNamespace {
  of(headers: HeaderBag): Promise<string>;
}

/** Every caller's bare names resolve in one namespace (auth off). */
export const fixedNamespace = (namespace: string): CallerNamespace => ({ of: async () => namespace });

/** Who sent a request: the authenticated username, or undefined when nobody is identified. */
export interface CallerIdentifier {
  identify(headers: HeaderBag): Promise<string | undefined>;
}

/**
 * The caller's own namespace when its token identifies a service account. An unidentified
 * caller gets `defaultNamespace`; the authorization that follows refuses it if it must.
 */
export const callerNamespace = (identifier: CallerIdentifier, defaultNamespace: string): CallerNamespace => ({
  of: async (headers) => bareNameNamespace(await identifier.identify(headers), defaultNamespace),
});
