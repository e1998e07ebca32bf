// A function's ZipFile (base64 in the JSON body) → checked bytes → the artifact store. The zip
// is validated here, before anything is written (a bad zip, a bomb or an oversize archive
// leaves nothing behind), with the same checks the store and the agent run.
import { createHash } from 'node:crypto';
import {
  AccessDeniedException,
  InvalidParameterValueException,
  type LambdaError,
  RequestEntityTooLargeException,
  ServiceException,
} from '../errors.js';
import type { ArtifactStore } from '../store/index.js';
import { inspectZip, StoreError } from '../store/index.js';

export interface CodeLimits {
  /** Largest zip accepted (Lambda: 50 MB direct upload). */
  maxZipBytes: number;
  /** Largest unzipped size of one archive (Lambda: 250 MB). */
  maxUnzippedBytes: number;
}

export interface UploadedCode {
  sha256: string;
  size: number;
  unzippedSize: number;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The request's code source as zip bytes; S3 locations are refused with what to do instead. */
export function zipBytesOf(
  code: { ZipFile?: string; S3Bucket?: string; S3Key?: string; ImageUri?: string },
  limits: CodeLimits,
): Buffer {
  if (code.S3Bucket !== undefined || code.S3Key !== undefined) {
    throw new InvalidParameterValueException(
      'S3Bucket/S3Key code locations are not supported by Lamina: send the zip itself as ZipFile ' +
        '(aws lambda create-function --zip-file fileb://function.zip).',
    );
  }
  if (code.ImageUri !== undefined) {
    // Callers sort image functions out first (image-spec.ts); this only keeps a zip call honest.
    throw new InvalidParameterValueException(
      "Please don't provide ImageUri when the intended function PackageType is Zip.",
    );
  }
  if (code.ZipFile === undefined || code.ZipFile === '') {
    throw new InvalidParameterValueException('Please provide a source for function code.');
  }
  const text = code.ZipFile.replace(/\s+/g, '');
  if (text.length % 4 !== 0 || !BASE64.test(text)) {
    throw new InvalidParameterValueException('ZipFile must be base64-encoded zip bytes.');
  }
  const size = (text.length / 4) * 3 - (text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0);
  if (size > limits.maxZipBytes) {
    throw new RequestEntityTooLargeException(
      `Zipped size ${size} bytes must be smaller than ${limits.maxZipBytes} bytes`,
    );
  }
  const bytes = Buffer.from(text, 'base64');
  try {
    inspectZip(bytes, limits.maxUnzippedBytes);
  } catch (err) {
    throw new InvalidParameterValueException(
      `Could not unzip uploaded file. Please check your file, then try to upload again. (${(err as Error).message})`,
    );
  }
  return bytes;
}

/** The digest a ZipFile will be stored under (hex). */
export function sha256Of(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function storeZip(store: ArtifactStore, bytes: Buffer): Promise<UploadedCode> {
  try {
    const result = await store.put(bytes, sha256Of(bytes));
    return { sha256: result.sha256, size: result.size, unzippedSize: result.unzippedSize };
  } catch (err) {
    throw storeErrorAsLambda(err);
  }
}

function storeErrorAsLambda(err: unknown): LambdaError {
  if (!(err instanceof StoreError)) return new ServiceException('The artifact store could not be reached.');
  if (err.httpStatus === 413) return new RequestEntityTooLargeException(err.message);
  if (err.errorType === 'InvalidZipFileException')
    return new InvalidParameterValueException(`Could not unzip uploaded file: ${err.message}`);
  if (err.httpStatus === 401 || err.httpStatus === 403)
    return new AccessDeniedException(`The artifact store refused the upload: ${err.message}`);
  return new ServiceException(`The artifact store failed: ${err.message}`);
}
