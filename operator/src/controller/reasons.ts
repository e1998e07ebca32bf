// Why a Lamina object is not Active: Lambda's error codes where Lambda has one, so users and
// tools see familiar names in `status.stateReasonCode`, condition reasons and Events.
export const Reason = {
  /** A field value Lamina refuses (environment over 4 KB, incompatible layer, duplicate layer …). */
  InvalidParameterValue: 'InvalidParameterValueException',
  /** The code zip is corrupt or hostile (traversal, symlinks out, bombs). */
  InvalidZipFile: 'InvalidZipFileException',
  /** Zipped over the upload limit, or code + layers over the unzipped limit. */
  CodeTooLarge: 'CodeTooLarge',
  /** spec.code.sha256 names a zip the artifact store does not have. */
  CodeNotFound: 'CodeNotFound',
  /** The zip fetched from zipUrl does not hash to spec.code.sha256. */
  CodeVerificationFailed: 'CodeVerificationFailedException',
  /** zipUrl could not be fetched. */
  CodeFetchFailed: 'CodeFetchFailed',
  /** A referenced layer, or layer version, does not exist (or was deleted). */
  LayerNotFound: 'LayerNotFound',
  /** A layer in another namespace is not shared with this one. */
  LayerAccessDenied: 'LayerAccessDenied',
  /** Version/alias: the function does not exist. */
  ResourceNotFound: 'ResourceNotFoundException',
  /** Two aliases claim the same name for one function. */
  ResourceConflict: 'ResourceConflictException',
  /** PublishVersion's RevisionId precondition failed. */
  PreconditionFailed: 'PreconditionFailedException',
  /** The artifact store is unavailable or failed. */
  InternalError: 'InternalError',
} as const;

/** A reason a reconcile could not make its object Active, in words a user can act on. */
export interface Failure {
  reasonCode: string;
  message: string;
  /** Try again after this long even if nothing changes (e.g. a URL that may come back). */
  retryAfterMs?: number;
}
