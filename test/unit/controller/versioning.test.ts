import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { VersionSnapshot } from '../../../operator/src/api/index.js';
import { decidePublication, lastAssignedVersion } from '../../../operator/src/controller/versioning.js';

const snapshot = (overrides: Partial<VersionSnapshot> = {}): VersionSnapshot => ({
  runtime: 'nodejs20.x',
  handler: 'index.handler',
  codeSha256: 'a'.repeat(64),
  codeSize: 10,
  memorySize: 128,
  timeout: 3,
  ephemeralStorageSize: 512,
  layers: [],
  revisionId: 'rev-1',
  ...overrides,
});

describe('decidePublication', () => {
  it('publishes version 1 for a function never published', () => {
    assert.deepEqual(decidePublication({ latest: snapshot(), published: [], lastAssigned: 0 }), {
      kind: 'publish',
      version: 1,
    });
  });

  it('returns the newest version when $LATEST is unchanged since it (revision id aside)', () => {
    const decision = decidePublication({
      latest: snapshot({ revisionId: 'rev-2' }),
      published: [
        { version: 1, snapshot: snapshot({ memorySize: 256 }) },
        { version: 2, snapshot: snapshot() },
      ],
      lastAssigned: 2,
    });
    assert.deepEqual(decision, { kind: 'unchanged', version: 2 });
  });

  it('compares with the newest version only: equal to an older one still publishes', () => {
    const decision = decidePublication({
      latest: snapshot(),
      published: [
        { version: 1, snapshot: snapshot() },
        { version: 2, snapshot: snapshot({ memorySize: 256 }) },
      ],
      lastAssigned: 2,
    });
    assert.deepEqual(decision, { kind: 'publish', version: 3 });
  });

  it('never reuses a number: after version 2 was deleted the next is 3', () => {
    const decision = decidePublication({
      latest: snapshot({ timeout: 9 }),
      published: [{ version: 1, snapshot: snapshot() }],
      lastAssigned: 2,
    });
    assert.deepEqual(decision, { kind: 'publish', version: 3 });
  });

  it('stays above existing versions even when the counter is behind (lost annotation)', () => {
    const decision = decidePublication({
      latest: snapshot({ timeout: 9 }),
      published: [{ version: 7, snapshot: snapshot() }],
      lastAssigned: 0,
    });
    assert.deepEqual(decision, { kind: 'publish', version: 8 });
  });

  it('fails a CodeSha256 precondition with Lambda’s message', () => {
    const decision = decidePublication({
      latest: snapshot(),
      published: [],
      lastAssigned: 0,
      preconditions: { codeSha256: 'b'.repeat(64) },
    });
    assert.equal(decision.kind, 'failed');
    assert.equal(decision.kind === 'failed' && decision.reasonCode, 'InvalidParameterValueException');
    assert.match(
      decision.kind === 'failed' ? decision.message : '',
      /^CodeSHA256 \(b{64}\) is different from current CodeSHA256 in \$LATEST \(a{64}\)\. Please try again with the CodeSHA256 in \$LATEST\.$/,
    );
  });

  it('fails a RevisionId precondition with PreconditionFailedException', () => {
    const decision = decidePublication({
      latest: snapshot(),
      published: [],
      lastAssigned: 0,
      preconditions: { revisionId: 'old' },
    });
    assert.equal(decision.kind === 'failed' && decision.reasonCode, 'PreconditionFailedException');
  });

  it('checks preconditions before "unchanged"', () => {
    const decision = decidePublication({
      latest: snapshot(),
      published: [{ version: 1, snapshot: snapshot() }],
      lastAssigned: 1,
      preconditions: { revisionId: 'old' },
    });
    assert.equal(decision.kind, 'failed');
  });
});

describe('lastAssignedVersion', () => {
  it('reads the annotation and treats garbage as 0', () => {
    assert.equal(lastAssignedVersion({ 'lamina.dev/last-version': '4' }), 4);
    assert.equal(lastAssignedVersion({ 'lamina.dev/last-version': 'x' }), 0);
    assert.equal(lastAssignedVersion({ 'lamina.dev/last-version': '-1' }), 0);
    assert.equal(lastAssignedVersion(undefined), 0);
  });
});
