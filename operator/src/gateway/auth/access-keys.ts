// Access keys for SigV4 (pure): Kubernetes Secrets labelled `lamina.dev/access-key=true` in the
// gateway's own namespace, each mapping one AWS-style key pair to one ServiceAccount, whose
// RBAC then decides what the key may do. Only the release namespace is read: whoever can write
// Secrets there can act as any ServiceAccount, which is why the chart lets only the gateway
// read them and cluster admins write them.
import type { UserInfo } from '../../kube/index.js';

export const ACCESS_KEY_LABEL = 'lamina.dev/access-key';
export const ACCESS_KEY_SELECTOR = `${ACCESS_KEY_LABEL}=true`;

/** The Secret's data keys. */
export const ACCESS_KEY_ID_FIELD = 'accessKeyId';
export const SECRET_ACCESS_KEY_FIELD = 'secretAccessKey';
/** `<namespace>/<name>` of the ServiceAccount the key acts as. */
export const SERVICE_ACCOUNT_FIELD = 'serviceAccount';

export interface AccessKey {
  accessKeyId: string;
  secretAccessKey: string;
  user: UserInfo;
  /** `<namespace>/<name>` of the Secret, for logs. */
  source: string;
}

/** What the gateway reads of a Secret. */
export interface AccessKeySecret {
  metadata?: { name?: string; namespace?: string };
  /** base64 values, as the API returns them. */
  data?: Record<string, string>;
}

const ACCESS_KEY_ID = /^[A-Za-z0-9]{16,128}$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** The identity the API server gives a ServiceAccount's tokens (username and groups). */
export function serviceAccountUser(namespace: string, name: string): UserInfo {
  return {
    username: `system:serviceaccount:${namespace}:${name}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
  };
}

function field(secret: AccessKeySecret, key: string): string | undefined {
  const value = secret.data?.[key];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8').trim();
}

/** One Secret → its access key, or why it is not one. */
export function accessKeyOf(secret: AccessKeySecret): AccessKey | { invalid: string } {
  const source = `${secret.metadata?.namespace ?? ''}/${secret.metadata?.name ?? ''}`;
  const accessKeyId = field(secret, ACCESS_KEY_ID_FIELD);
  const secretAccessKey = field(secret, SECRET_ACCESS_KEY_FIELD);
  const serviceAccount = field(secret, SERVICE_ACCOUNT_FIELD);
  if (!accessKeyId || !ACCESS_KEY_ID.test(accessKeyId)) {
    return { invalid: `${ACCESS_KEY_ID_FIELD} must be 16 to 128 letters and digits` };
  }
  if (!secretAccessKey || secretAccessKey.length < 16) {
    return { invalid: `${SECRET_ACCESS_KEY_FIELD} must be at least 16 characters` };
  }
  const [namespace, name, ...rest] = (serviceAccount ?? '').split('/');
  if (!namespace || !name || rest.length > 0 || !DNS_LABEL.test(namespace) || !DNS_SUBDOMAIN.test(name)) {
    return { invalid: `${SERVICE_ACCOUNT_FIELD} must be <namespace>/<serviceaccount>` };
  }
  return { accessKeyId, secretAccessKey, user: serviceAccountUser(namespace, name), source };
}

export type AccessKeyIndex = {
  keys: ReadonlyMap<string, AccessKey>;
  /** Secrets that are not usable, and why (an id in two Secrets makes both unusable). */
  rejected: Array<{ source: string; why: string }>;
};

/** Every labelled Secret → the keys by id. */
export function indexAccessKeys(secrets: readonly AccessKeySecret[]): AccessKeyIndex {
  const keys = new Map<string, AccessKey>();
  const duplicated = new Set<string>();
  const rejected: AccessKeyIndex['rejected'] = [];
  for (const secret of secrets) {
    const key = accessKeyOf(secret);
    if ('invalid' in key) {
      rejected.push({
        source: `${secret.metadata?.namespace ?? ''}/${secret.metadata?.name ?? ''}`,
        why: key.invalid,
      });
      continue;
    }
    const other = keys.get(key.accessKeyId);
    if (other || duplicated.has(key.accessKeyId)) {
      duplicated.add(key.accessKeyId);
      if (other) rejected.push({ source: other.source, why: `access key id also in ${key.source}` });
      rejected.push({ source: key.source, why: 'access key id also in another Secret' });
      keys.delete(key.accessKeyId);
      continue;
    }
    keys.set(key.accessKeyId, key);
  }
  return { keys, rejected };
}

/** Where the gateway looks up a SigV4 request's key. */
export interface AccessKeyLookup {
  get(accessKeyId: string): AccessKey | undefined;
}
