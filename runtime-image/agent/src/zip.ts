// Safe reading, validation and extraction of function and layer zips (the module the
// operator imports too). Deployment packages come from users, so every archive is hostile:
//  1. `openZip` (zip-archive.ts) parses the central directory into plain `ZipEntryInfo` records;
//  2. `validateZipEntries` (zip-validation.ts) is pure: records → extraction plan, or a typed
//     `InvalidZipFileError`, before a single byte is written;
//  3. `extractZip` (zip-extract.ts) writes the plan, counting inflated bytes against each
//     declared size (a lying header cannot become a bomb) and re-checking on disk that every
//     directory resolves inside the target.
export { openZip, type ZipArchive } from './zip-archive.js';
export { extractZip, undoExtraction, type ExtractionJournal } from './zip-extract.js';
export {
  InvalidZipFileError,
  MAX_UNZIPPED_BYTES,
  MAX_ZIP_ENTRIES,
  validateZipEntries,
  type PlannedEntry,
  type ZipEntryInfo,
  type ZipEntryKind,
  type ZipLimits,
  type ZipRejectionReason,
  type ZipValidation,
} from './zip-validation.js';
