// Publishing as a pure decision (LAMBDA-SPEC §5). Given $LATEST's snapshot, the published
// versions that exist and the highest number ever assigned:
//  - the CodeSha256 / RevisionId preconditions are checked first, with Lambda's messages;
//  - if $LATEST equals the newest existing version, nothing is published: the answer is that
//    version ("Unchanged");
//  - otherwise the next number is one above both the highest ever assigned (the Function's
//    lamina.dev/last-version annotation) and the highest that exists, so a number is never
//    reused, even after deletes.
import { sameConfiguration, type VersionSnapshot } from '../api/index.js';
import { Reason } from './reasons.js';

export const LAST_VERSION_ANNOTATION = 'lamina.dev/last-version';
/**
 * The $LATEST revision `publish: true` last published (or found unchanged). `publish: true`
 * publishes on a change of code or configuration, not whenever the newest version differs
 * from $LATEST: deleting the newest version does not republish it.
 */
export const PUBLISHED_REVISION_ANNOTATION = 'lamina.dev/published-revision';

export interface PublishedVersion {
  version: number;
  snapshot: VersionSnapshot;
}

export interface PublishInput {
  latest: VersionSnapshot;
  published: readonly PublishedVersion[];
  lastAssigned: number;
  preconditions?: { codeSha256?: string; revisionId?: string };
}

export type PublishDecision =
  | { kind: 'publish'; version: number }
  | { kind: 'unchanged'; version: number }
  | { kind: 'failed'; reasonCode: string; message: string };

export function decidePublication({
  latest,
  published,
  lastAssigned,
  preconditions,
}: PublishInput): PublishDecision {
  if (preconditions?.codeSha256 && preconditions.codeSha256 !== latest.codeSha256) {
    return {
      kind: 'failed',
      reasonCode: Reason.InvalidParameterValue,
      message:
        `CodeSHA256 (${preconditions.codeSha256}) is different from current CodeSHA256 in $LATEST ` +
        `(${latest.codeSha256}). Please try again with the CodeSHA256 in $LATEST.`,
    };
  }
  if (preconditions?.revisionId && preconditions.revisionId !== latest.revisionId) {
    return {
      kind: 'failed',
      reasonCode: Reason.PreconditionFailed,
      message:
        'The Revision Id provided does not match the latest Revision Id. ' +
        `Call the GetFunction/GetAlias API to retrieve the latest Revision Id (it is ${latest.revisionId}).`,
    };
  }
  const newest = published.reduce<PublishedVersion | undefined>(
    (best, v) => (!best || v.version > best.version ? v : best),
    undefined,
  );
  if (newest && sameConfiguration(newest.snapshot, latest))
    return { kind: 'unchanged', version: newest.version };
  return { kind: 'publish', version: Math.max(lastAssigned, newest?.version ?? 0) + 1 };
}

/** The annotation's value as a number; anything unreadable counts as 0 (existing versions still bound it). */
export function lastAssignedVersion(annotations: Record<string, string> | undefined): number {
  const value = Number(annotations?.[LAST_VERSION_ANNOTATION]);
  return Number.isSafeInteger(value) && value > 0 ? value : 0;
}
