// Reading the API server's answers: status codes and reasons of client-node's ApiException.
import { ApiException } from '@kubernetes/client-node';

export function apiStatus(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code =
    (err as { code?: unknown; statusCode?: unknown })?.code ?? (err as { statusCode?: unknown })?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** The `reason` of a metav1.Status body (AlreadyExists, Conflict, Invalid …). */
export function apiReason(err: unknown): string | undefined {
  if (!(err instanceof ApiException)) return undefined;
  let body: unknown = err.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  return (body as { reason?: string } | undefined)?.reason;
}

/** The human message of a metav1.Status body, for logs and conditions. */
export function apiMessage(err: unknown): string {
  if (err instanceof ApiException) {
    let body: unknown = err.body;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body);
      } catch {
        return `${err.code} ${body as string}`;
      }
    }
    return `${err.code} ${(body as { message?: string } | undefined)?.message ?? ''}`.trim();
  }
  return err instanceof Error ? err.message : String(err);
}

export const isNotFound = (err: unknown) => apiStatus(err) === 404;
/** 409: an optimistic-concurrency conflict or an object that already exists. */
export const isConflict = (err: unknown) => apiStatus(err) === 409;
export const isAlreadyExists = (err: unknown) => isConflict(err) && apiReason(err) === 'AlreadyExists';
