// Every zip that enters the store is checked once, here, with the validation the agent
// extracts with (operator/src/zip): the store and the execution environment agree on what
// a hostile archive is because they run the same code.
import {
  InvalidZipFileError as AgentZipError,
  MAX_ZIP_ENTRIES,
  openZip,
  validateZipEntries,
} from '../zip/index.js';
import { InvalidZipFileError } from './errors.js';

export interface ZipFacts {
  /** Sum of the entries' sizes once extracted. */
  unzippedSize: number;
  entries: number;
}

/**
 * Parses and validates a zip without writing anything. `maxUnzippedBytes` bounds this one
 * archive; the function-plus-layers total is the operator's check.
 */
export function inspectZip(bytes: Buffer, maxUnzippedBytes: number): ZipFacts {
  try {
    const archive = openZip(bytes);
    const result = validateZipEntries(archive.entries, { maxEntries: MAX_ZIP_ENTRIES, maxUnzippedBytes });
    if (!result.ok) throw result.error;
    return { unzippedSize: result.totalBytes, entries: result.entries.length };
  } catch (err) {
    if (err instanceof AgentZipError) throw new InvalidZipFileError(err.message, err.reason);
    throw new InvalidZipFileError(`Could not unzip uploaded file: ${(err as Error)?.message ?? String(err)}`);
  }
}
