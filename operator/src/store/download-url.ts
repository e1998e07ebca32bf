// Time-limited download URLs for one blob: GET /downloads/sha256/<hex>?expires=<s>&signature=<hmac>.
// The signer (the gateway, for GetFunction's Code.Location) and the store share a key; the
// signature is an HMAC-SHA256 over the digest and the expiry, so a URL cannot be pointed at
// another blob or kept alive longer. Pure: the clock is a parameter.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { assertDigest } from './errors.js';

export const DOWNLOAD_ROUTE = '/downloads/sha256/:sha256';

function signature(key: string, sha256: string, expires: number): string {
  return createHmac('sha256', key).update(`GET\n${sha256}\n${expires}`).digest('hex');
}

/** `<base>/downloads/sha256/<hex>?expires=…&signature=…`, valid until `nowMs + ttlSeconds`. */
export function signDownloadUrl(
  baseUrl: string,
  key: string,
  sha256: string,
  nowMs: number,
  ttlSeconds: number,
): string {
  assertDigest(sha256);
  const expires = Math.floor(nowMs / 1000) + ttlSeconds;
  const base = baseUrl.replace(/\/+$/, '');
  return `${base}/downloads/sha256/${sha256}?expires=${expires}&signature=${signature(key, sha256, expires)}`;
}

export type DownloadCheck = { ok: true } | { ok: false; why: 'expired' | 'bad signature' };

/** Whether a download request is genuine and still valid at `nowMs`. */
export function checkDownload(
  key: string,
  sha256: string,
  expires: string | undefined,
  given: string | undefined,
  nowMs: number,
): DownloadCheck {
  const at = Number(expires);
  if (!expires || !Number.isSafeInteger(at) || !given || !/^[a-f0-9]{64}$/.test(given)) {
    return { ok: false, why: 'bad signature' };
  }
  const expected = Buffer.from(signature(key, sha256, at), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(given, 'hex'))) return { ok: false, why: 'bad signature' };
  if (at * 1000 < nowMs) return { ok: false, why: 'expired' };
  return { ok: true };
}
