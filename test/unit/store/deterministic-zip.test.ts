import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import AdmZip from 'adm-zip';
import { zipInlineFiles } from '../../../operator/src/store/deterministic-zip.js';
import { inspectZip } from '../../../operator/src/store/zip-check.js';

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('zipInlineFiles', () => {
  it('gives the same bytes for the same files, whatever the key order', () => {
    const a = zipInlineFiles({ 'index.js': 'exports.handler = 1', 'lib/util.js': 'x' });
    const b = zipInlineFiles({ 'lib/util.js': 'x', 'index.js': 'exports.handler = 1' });
    assert.equal(sha(a), sha(b));
  });

  it('gives different bytes when one file changes', () => {
    const a = zipInlineFiles({ 'index.js': 'exports.handler = 1' });
    const b = zipInlineFiles({ 'index.js': 'exports.handler = 2' });
    assert.notEqual(sha(a), sha(b));
  });

  it('does not depend on the time or the time zone it runs in', () => {
    const program = `import('./operator/src/store/deterministic-zip.ts').then(m => process.stdout.write(require('node:crypto').createHash('sha256').update(m.zipInlineFiles({'a.py':'x'})).digest('hex')))`;
    const run = (tz: string) =>
      execFileSync(process.execPath, ['--import', 'tsx', '-e', program], {
        env: { ...process.env, TZ: tz },
        cwd: new URL('../../../', import.meta.url).pathname,
      }).toString();
    assert.equal(run('UTC'), run('Pacific/Kiritimati'));
    assert.equal(run('UTC'), sha(zipInlineFiles({ 'a.py': 'x' })));
  });

  it('writes sorted entries with a fixed timestamp and regular-file permissions', () => {
    const zip = new AdmZip(zipInlineFiles({ 'z.txt': 'z', 'a.txt': 'a', 'm/n.txt': 'n' }));
    const entries = zip.getEntries();
    assert.deepEqual(
      entries.map((e) => e.entryName),
      ['a.txt', 'm/n.txt', 'z.txt'],
    );
    for (const entry of entries) {
      assert.equal(entry.header.time.getFullYear(), 1980);
      assert.equal((entry.header.attr >>> 16) & 0o777, 0o644);
    }
    assert.equal(zip.readAsText('m/n.txt'), 'n');
  });

  it('makes a file that starts with #! executable, so an inline bootstrap can run', () => {
    const zip = new AdmZip(zipInlineFiles({ bootstrap: '#!/bin/bash\necho hi\n', 'data.txt': 'x' }));
    const mode = (name: string) => (zip.getEntry(name)!.header.attr >>> 16) & 0o777;
    assert.equal(mode('bootstrap'), 0o755);
    assert.equal(mode('data.txt'), 0o644);
  });

  it('produces a zip the hostile-zip checks accept, with the right unzipped size', () => {
    assert.equal(inspectZip(zipInlineFiles({ 'a.py': 'abc', 'b.py': 'de' }), 1000).unzippedSize, 5);
  });
});
