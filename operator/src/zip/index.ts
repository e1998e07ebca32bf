// Reading and validating function and layer zips, shared by the artifact store (every upload
// is checked once) and the agent (which extracts with the same rules). Deployment packages
// come from users, so every archive is hostile:
//  1. `openZip` (archive.ts) parses the central directory into plain `ZipEntryInfo` records;
//  2. `validateZipEntries` (validation.ts) is pure: records → extraction plan, or a typed
//     `InvalidZipFileError`, before a single byte is written.
// Extraction (writing the plan) is the agent's: runtime-image/agent-go/zip_extract.go, which
// takes these limits through the generated protocol_gen.go.
export { corrupt, inflateBounded, openZip, type ZipArchive } from './archive.js';
export {
  InvalidZipFileError,
  MAX_SEGMENT_BYTES,
  MAX_SYMLINK_TARGET_BYTES,
  MAX_UNZIPPED_BYTES,
  MAX_ZIP_ENTRIES,
  validateZipEntries,
  type PlannedEntry,
  type ZipEntryInfo,
  type ZipEntryKind,
  type ZipLimits,
  type ZipRejectionReason,
  type ZipValidation,
} from './validation.js';
