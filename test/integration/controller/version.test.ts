// Versions against a real API server: numbering by the operator, no-op publishes, numbers
// never reused after deletes, preconditions, ownership, and the in-use finalizer.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Version } from '../../../operator/src/api/index.js';
import {
  aliasObject,
  eventsFor,
  eventually,
  fnObject,
  publishedVersions,
  setUp,
  sleep,
  versionObject,
  waitForFunction,
  type Environment,
} from './fixtures.js';

describe('Version publishing', () => {
  let env: Environment;

  before(async () => {
    env = await setUp('op-ver');
  });
  after(() => env?.dispose());

  const version = (name: string, test: (v: Version) => void) =>
    eventually(async () => {
      const v = await env.api.versions.get(env.ns, name);
      assert.ok(v, `version ${name} missing`);
      test(v);
      return v;
    });

  describe('publish: true', () => {
    it('publishes version 1 with the $LATEST snapshot, owned by the Function', async () => {
      await env.api.functions.create(env.ns, fnObject('auto', { publish: true }));
      const fn = await waitForFunction(env.api, env.ns, 'auto', 'Active');
      const v1 = await version('auto-v1', (v) => assert.equal(v.status?.state, 'Active'));
      assert.equal(v1.spec.version, 1);
      assert.equal(v1.spec.snapshot?.codeSha256, fn.status?.codeSha256);
      assert.equal(v1.spec.snapshot?.revisionId, fn.status?.revisionId);
      assert.equal(v1.status?.version, '1');
      assert.deepEqual(
        v1.metadata.ownerReferences?.map((r) => [r.kind, r.name, r.uid, r.controller]),
        [['Function', 'auto', fn.metadata.uid, true]],
      );
      assert.ok(v1.metadata.finalizers?.includes('lamina.dev/version-in-use'));
      await eventually(async () => {
        const latest = await env.api.functions.get(env.ns, 'auto');
        assert.equal(latest?.status?.latestVersion, '1');
        assert.equal(latest?.metadata.annotations?.['lamina.dev/last-version'], '1');
      });
    });

    it('publishes nothing when a change leaves code and configuration as published', async () => {
      // reservedConcurrentExecutions is function-level, not part of a version's snapshot.
      await env.api.functions.patch(env.ns, 'auto', { spec: { reservedConcurrentExecutions: 5 } });
      await waitForFunction(env.api, env.ns, 'auto', 'Active');
      await sleep(500);
      assert.deepEqual(await publishedVersions(env.api, env.ns, 'auto'), [1]);
    });

    it('publishes version 2 when configuration changes', async () => {
      await env.api.functions.patch(env.ns, 'auto', { spec: { memorySize: 1024 } });
      const v2 = await version('auto-v2', (v) => assert.equal(v.status?.state, 'Active'));
      assert.equal(v2.spec.snapshot?.memorySize, 1024);
      assert.deepEqual(await publishedVersions(env.api, env.ns, 'auto'), [1, 2]);
      await eventually(async () =>
        assert.equal((await env.api.functions.get(env.ns, 'auto'))?.status?.latestVersion, '2'),
      );
    });

    it('never reuses a number: delete version 2, change again, get version 3', async () => {
      await env.api.versions.delete(env.ns, 'auto-v2');
      await eventually(async () => assert.equal(await env.api.versions.get(env.ns, 'auto-v2'), undefined));
      await env.api.functions.patch(env.ns, 'auto', { spec: { memorySize: 2048 } });
      const v3 = await version('auto-v3', (v) => assert.equal(v.status?.state, 'Active'));
      assert.equal(v3.spec.snapshot?.memorySize, 2048);
      assert.deepEqual(await publishedVersions(env.api, env.ns, 'auto'), [1, 3]);
    });
  });

  describe('a Version object (PublishVersion)', () => {
    before(async () => {
      await env.api.functions.create(env.ns, fnObject('manual'));
      await waitForFunction(env.api, env.ns, 'manual', 'Active');
    });

    it('gets number 1 and the snapshot, and is adopted by the Function', async () => {
      await env.api.versions.create(env.ns, versionObject('manual-first', 'manual'));
      const v = await version('manual-first', (x) => assert.equal(x.status?.state, 'Active'));
      assert.equal(v.spec.version, 1);
      assert.equal(v.status?.conditions?.find((c) => c.type === 'Published')?.status, 'True');
      assert.equal(v.metadata.ownerReferences?.[0]?.name, 'manual');
      assert.equal(v.metadata.labels?.['lamina.dev/function'], 'manual');
    });

    it('publishing an unchanged function returns the existing version (no new number)', async () => {
      await env.api.versions.create(env.ns, versionObject('manual-again', 'manual'));
      const v = await version('manual-again', (x) =>
        assert.equal(x.status?.conditions?.find((c) => c.type === 'Published')?.reason, 'Unchanged'),
      );
      assert.equal(v.spec.version, undefined);
      assert.equal(v.status?.version, '1');
      assert.equal(v.status?.state, 'Active');
      assert.deepEqual(await publishedVersions(env.api, env.ns, 'manual'), [1]);
    });

    it('fails on a CodeSha256 precondition with Lambda’s message', async () => {
      await env.api.versions.create(
        env.ns,
        versionObject('manual-sha', 'manual', { codeSha256: 'b'.repeat(64) }),
      );
      const v = await version('manual-sha', (x) => assert.equal(x.status?.state, 'Failed'));
      assert.match(
        v.status?.stateReason ?? '',
        /CodeSHA256 \(b+\) is different from current CodeSHA256 in \$LATEST/,
      );
      await eventually(async () => {
        const events = await eventsFor(env.kc, env.ns, 'manual-sha');
        assert.ok(events.some((e) => e.type === 'Warning' && e.reason === 'InvalidParameterValueException'));
      });
    });

    it('fails on a RevisionId precondition with PreconditionFailed', async () => {
      await env.api.functions.patch(env.ns, 'manual', { spec: { timeout: 30 } });
      await waitForFunction(env.api, env.ns, 'manual', 'Active');
      await env.api.versions.create(
        env.ns,
        versionObject('manual-rev', 'manual', { revisionId: 'not-the-revision' }),
      );
      const v = await version('manual-rev', (x) => assert.equal(x.status?.state, 'Failed'));
      assert.equal(
        v.status?.conditions?.find((c) => c.type === 'Published')?.reason,
        'PreconditionFailedException',
      );
      assert.equal(v.spec.version, undefined);
    });

    it('publishes version 2 when the preconditions hold', async () => {
      const fn = await waitForFunction(env.api, env.ns, 'manual', 'Active');
      await env.api.versions.create(
        env.ns,
        versionObject('manual-second', 'manual', {
          codeSha256: fn.status?.codeSha256,
          revisionId: fn.status?.revisionId,
        }),
      );
      const v = await version('manual-second', (x) => assert.equal(x.status?.state, 'Active'));
      assert.equal(v.spec.version, 2);
      assert.equal(v.spec.snapshot?.timeout, 30);
    });

    it('waits while its function does not exist, then publishes when it appears', async () => {
      await env.api.versions.create(env.ns, versionObject('ghost-v', 'ghost'));
      const pending = await version('ghost-v', (x) => assert.equal(x.status?.state, 'Pending'));
      assert.match(pending.status?.stateReason ?? '', /Function not found: ghost/);
      await env.api.functions.create(env.ns, fnObject('ghost'));
      const v = await version('ghost-v', (x) => assert.equal(x.status?.state, 'Active'));
      assert.equal(v.spec.version, 1);
    });
  });

  describe('deletion while an alias routes to the version', () => {
    it('holds the deletion with an Event naming the alias, and completes when the alias moves', async () => {
      await env.api.aliases.create(env.ns, aliasObject('live', 'manual', '1'));
      await eventually(async () =>
        assert.equal((await env.api.aliases.get(env.ns, 'live'))?.status?.state, 'Active'),
      );
      await env.api.versions.delete(env.ns, 'manual-first');
      await eventually(async () => {
        const events = await eventsFor(env.kc, env.ns, 'manual-first');
        const inUse = events.find((e) => e.reason === 'VersionInUse');
        assert.ok(inUse, JSON.stringify(events));
        assert.match(inUse.message, /alias live routes to it/);
      });
      const held = await env.api.versions.get(env.ns, 'manual-first');
      assert.ok(held?.metadata.deletionTimestamp, 'deletion is pending');
      await env.api.aliases.patch(env.ns, 'live', { spec: { functionVersion: '2' } });
      await eventually(async () =>
        assert.equal(await env.api.versions.get(env.ns, 'manual-first'), undefined),
      );
    });
  });
});
