import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideLayerVersions } from '../../../operator/src/controller/layer-versions.js';

const d = (c: string) => c.repeat(64);
const content = (c: string) => ({ sha256: d(c), size: 10, unzippedSize: 20 });

describe('decideLayerVersions', () => {
  it('creates version 1 for the first content', () => {
    const decision = decideLayerVersions(
      [],
      { ...content('a'), compatibleRuntimes: ['python3.13'] },
      [],
      'T1',
    );
    assert.equal(decision.created, 1);
    assert.equal(decision.latestVersion, 1);
    assert.deepEqual(decision.versions, [
      {
        version: 1,
        sha256: d('a'),
        size: 10,
        unzippedSize: 20,
        compatibleRuntimes: ['python3.13'],
        createdAt: 'T1',
      },
    ]);
  });

  it('creates nothing when the content is unchanged', () => {
    const first = decideLayerVersions([], content('a'), [], 'T1');
    const again = decideLayerVersions(first.versions, content('a'), [], 'T2');
    assert.equal(again.created, undefined);
    assert.deepEqual(again.versions, first.versions);
  });

  it('appends N+1 for new content and leaves earlier versions untouched', () => {
    const v1 = decideLayerVersions([], content('a'), [], 'T1').versions;
    const v2 = decideLayerVersions(v1, content('b'), [], 'T2');
    assert.equal(v2.created, 2);
    assert.deepEqual(v2.versions[0], v1[0]);
    assert.equal(v2.versions[1]?.sha256, d('b'));
  });

  it('makes a new version when content returns to an older digest (compares with the newest only)', () => {
    let versions = decideLayerVersions([], content('a'), [], 'T1').versions;
    versions = decideLayerVersions(versions, content('b'), [], 'T2').versions;
    const back = decideLayerVersions(versions, content('a'), [], 'T3');
    assert.equal(back.created, 3);
  });

  it('marks deleted versions, keeps them, and never reuses their numbers', () => {
    let versions = decideLayerVersions([], content('a'), [], 'T1').versions;
    versions = decideLayerVersions(versions, content('b'), [], 'T2').versions;
    const deleted = decideLayerVersions(versions, content('b'), [2], 'T3');
    assert.equal(deleted.versions.length, 2);
    assert.equal(deleted.versions[1]?.deleted, true);
    assert.equal(deleted.latestVersion, 1, 'latestVersion skips deleted versions');
    const next = decideLayerVersions(deleted.versions, content('c'), [2], 'T4');
    assert.equal(next.created, 3);
    assert.equal(next.latestVersion, 3);
  });

  it('un-marks a version removed from deletedVersions', () => {
    const versions = decideLayerVersions([], content('a'), [1], 'T1').versions;
    assert.equal(versions[0]?.deleted, true);
    assert.equal(decideLayerVersions(versions, content('a'), [], 'T2').versions[0]?.deleted, undefined);
  });
});
