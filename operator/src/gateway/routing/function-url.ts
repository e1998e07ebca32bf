// Function URL hosts and path segments (the URL forms are described in api/function-url.ts).
import { URL_PREFIX } from '../../api/index.js';

const LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';

/** Maps `Host` to the path-based URL prefix, or undefined when it is not a function host. */
export function hostToUrlPrefix(host: string | undefined, domain: string): string | undefined {
  if (!host || !domain) return undefined;
  const hostname = host.replace(/:\d+$/, '').toLowerCase();
  const suffix = `.${domain.toLowerCase()}`;
  if (!hostname.endsWith(suffix)) return undefined;
  const labels = hostname.slice(0, -suffix.length).split('.');
  if (!labels.every((l) => new RegExp(`^${LABEL}$`).test(l))) return undefined;
  if (labels.length === 2) return `${URL_PREFIX}/${labels[1]}/${labels[0]}`;
  if (labels.length === 3) return `${URL_PREFIX}/${labels[2]}/${labels[1]}:${labels[0]}`;
  return undefined;
}

/** Splits the `<function>[:<alias>]` path segment. */
export function parseUrlTarget(segment: string): { name: string; qualifier?: string } {
  const [name = '', qualifier] = segment.split(':', 2);
  return qualifier ? { name, qualifier } : { name };
}
