// Layer versions as a pure decision: a new content digest appends version N+1 (numbers are
// never reused: N is the highest ever recorded); the same digest as the latest version adds
// nothing. Deletions are marks (spec.deletedVersions), never removals, so pinned functions
// keep their digest and numbers stay unique.
import type { LayerVersionRecord, Runtime } from '../api/index.js';

export interface LayerContent {
  sha256: string;
  size: number;
  unzippedSize: number;
  compatibleRuntimes?: Runtime[];
}

export interface LayerVersionDecision {
  versions: LayerVersionRecord[];
  /** The version number created by this decision, if any. */
  created?: number;
  /** Highest version that is not deleted (what `latestVersion` shows). */
  latestVersion?: number;
}

export function decideLayerVersions(
  existing: readonly LayerVersionRecord[],
  content: LayerContent,
  deletedVersions: readonly number[],
  now: string,
): LayerVersionDecision {
  const deleted = new Set(deletedVersions);
  const versions: LayerVersionRecord[] = existing
    .map((record): LayerVersionRecord => {
      const { deleted: _was, ...rest } = record;
      return deleted.has(record.version) ? { ...rest, deleted: true } : rest;
    })
    .sort((a, b) => a.version - b.version);
  const newest = versions.at(-1);
  let created: number | undefined;
  if (!newest || newest.sha256 !== content.sha256) {
    created = (newest?.version ?? 0) + 1;
    versions.push({
      version: created,
      sha256: content.sha256,
      size: content.size,
      unzippedSize: content.unzippedSize,
      ...(content.compatibleRuntimes?.length && { compatibleRuntimes: content.compatibleRuntimes }),
      createdAt: now,
      ...(deleted.has(created) && { deleted: true }),
    });
  }
  const live = versions.filter((v) => !v.deleted);
  return { versions, created, latestVersion: live.at(-1)?.version };
}
