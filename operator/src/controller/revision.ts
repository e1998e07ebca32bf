// The revision id of $LATEST: a digest of everything that defines what the function runs
// (the spec as the API server stored it, minus the `publish` switch and the code source's
// form, plus the resolved code digest and pinned layer digests). It changes whenever code or
// configuration changes and never otherwise, so it survives restarts without being stored
// anywhere but status. Formatted like Lambda's RevisionId (a UUID).
import { createHash } from 'node:crypto';
import { canonicalJson, type FunctionSpec, type PinnedLayer } from '../api/index.js';

export function revisionIdOf(spec: FunctionSpec, codeSha256: string, layers: readonly PinnedLayer[]): string {
  const { publish: _publish, code: _code, ...configuration } = spec;
  const hex = createHash('sha256').update(canonicalJson({ configuration, codeSha256, layers })).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
