// Typed errors of the artifact store. Each carries a Lambda-style error type and the HTTP
// status the store answers with; `server.ts` is the one place that puts them on the wire and
// `client.ts` the one place that turns a wire answer back into the same class.

export class StoreError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
    readonly httpStatus: number,
    /** A finer reason (e.g. the zip rejection reason: PathTraversal, UnsafeSymlink …). */
    readonly reason?: string,
  ) {
    super(message);
    this.name = errorType;
  }

  toJSON(): { errorType: string; errorMessage: string; reason?: string } {
    return {
      errorType: this.errorType,
      errorMessage: this.message,
      ...(this.reason && { reason: this.reason }),
    };
  }
}

/** The bytes are not a zip Lamina will run: corrupt, hostile (traversal, symlinks out, bombs) or too big unzipped. */
export class InvalidZipFileError extends StoreError {
  constructor(message: string, reason?: string) {
    super('InvalidZipFileException', message, 400, reason);
  }
}

/** The zip is larger than the store accepts (Lambda's 50 MB direct-upload limit by default). */
export class ZipTooLargeError extends StoreError {
  constructor(size: number | undefined, limit: number) {
    super(
      'RequestEntityTooLargeException',
      size === undefined
        ? `Zipped size must be smaller than ${limit} bytes`
        : `Zipped size ${size} bytes must be smaller than ${limit} bytes`,
      413,
    );
  }
}

/** The bytes do not hash to the digest they were announced under. */
export class DigestMismatchError extends StoreError {
  constructor(expected: string, actual: string) {
    super(
      'CodeVerificationFailedException',
      `The sha256 of the uploaded zip is ${actual}; expected ${expected}`,
      400,
    );
  }
}

export class BlobNotFoundError extends StoreError {
  constructor(sha256: string) {
    super('ResourceNotFoundException', `No zip with sha256 ${sha256} in the artifact store`, 404);
  }
}

/** A file on disk no longer hashes to its name; it is quarantined and never served. */
export class CorruptBlobError extends StoreError {
  constructor(sha256: string) {
    super(
      'Lamina.CorruptBlob',
      `The stored zip ${sha256} failed its digest check and was quarantined; upload it again`,
      500,
    );
  }
}

export class InvalidDigestError extends StoreError {
  constructor(value: string) {
    super('ValidationException', `'${value}' is not a lowercase hex sha256`, 400);
  }
}

/** The store could not be reached or answered something unexpected. */
export class StoreUnavailableError extends StoreError {
  constructor(message: string) {
    super('Lamina.StoreUnavailable', message, 503);
  }
}

const SHA256 = /^[a-f0-9]{64}$/;

export function assertDigest(value: string): void {
  if (!SHA256.test(value)) throw new InvalidDigestError(value);
}
