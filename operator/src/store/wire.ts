// The one place anything thrown inside the store's server becomes a StoreError, the store's
// wire vocabulary (server.ts sends it as {"errorType","errorMessage","reason?"}).
import { InvalidDigestError, StoreError, ZipTooLargeError } from './errors.js';

/** The fields fastify puts on the errors it raises itself (body limit, schema validation …). */
interface FrameworkError {
  code?: string;
  statusCode?: number;
  message?: string;
  validationContext?: string;
}

export function asStoreError(
  err: unknown,
  context: { maxZipBytes: number; params: unknown },
): StoreError | undefined {
  if (err instanceof StoreError) return err;
  const framework = (err ?? {}) as FrameworkError;
  if (framework.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return new ZipTooLargeError(undefined, context.maxZipBytes);
  if (framework.code === 'FST_ERR_VALIDATION' && framework.validationContext === 'params') {
    return new InvalidDigestError(String((context.params as { sha256?: unknown })?.sha256 ?? ''));
  }
  if (framework.statusCode && framework.statusCode < 500) {
    return new StoreError(
      'InvalidRequestContentException',
      framework.message ?? 'Bad request',
      framework.statusCode,
    );
  }
  return undefined;
}

/** What the store answers when the failure is its own bug. */
export const internalStoreError = () =>
  new StoreError('ServiceException', 'The artifact store failed to handle the request', 500);
