// Garbage collection of the artifact store, as a pure decision: which blobs no Function,
// Version or Layer needs any more, once they are older than a grace period (so a zip pushed
// a moment ago, not yet named by any object, survives). The I/O edge that lists objects and
// deletes blobs is controller/gc.ts.
import type { Layer, LaminaFunction, Version } from '../api/index.js';
import type { BlobInfo } from './artifact-store.js';

export interface References {
  functions: readonly LaminaFunction[];
  versions: readonly Version[];
  layers: readonly Layer[];
}

/** Every digest something still runs with or may resolve to. */
export function referencedDigests({ functions, versions, layers }: References): Set<string> {
  const digests = new Set<string>();
  const add = (sha?: string) => sha && digests.add(sha);
  for (const fn of functions) {
    add(fn.spec.code?.sha256);
    add(fn.status?.codeSha256);
    for (const layer of fn.status?.layers ?? []) add(layer.sha256);
  }
  for (const version of versions) {
    add(version.spec.snapshot?.codeSha256);
    for (const layer of version.spec.snapshot?.layers ?? []) add(layer.sha256);
  }
  // A deleted layer version is kept only while something pinned it (Lambda: "a copy of the
  // version remains until no functions refer to it"); the pins were added above.
  for (const layer of layers) {
    add(layer.spec.content.sha256);
    for (const record of layer.status?.versions ?? []) if (!record.deleted) add(record.sha256);
  }
  return digests;
}

export interface CollectionInput {
  blobs: readonly BlobInfo[];
  referenced: ReadonlySet<string>;
  now: number;
  graceMs: number;
}

/** The blobs to delete: unreferenced, and stored at least `graceMs` ago. */
export function blobsToCollect({ blobs, referenced, now, graceMs }: CollectionInput): string[] {
  return blobs
    .filter((blob) => !referenced.has(blob.sha256) && now - blob.storedAt >= graceMs)
    .map((blob) => blob.sha256)
    .sort();
}
