// Pagination, reserved-concurrency arithmetic, zip intake and signed download URLs (pure).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { zipBytesOf } from '../../../operator/src/control-plane/code.js';
import { accountSettings, checkReservation } from '../../../operator/src/control-plane/concurrency.js';
import { paginate, parseMaxItems } from '../../../operator/src/control-plane/pagination.js';
import { checkDownload, signDownloadUrl } from '../../../operator/src/store/download-url.js';
import { helloZip, traversalZip } from '../store/zips.js';

const LIMITS = { maxZipBytes: 1024 * 1024, maxUnzippedBytes: 10 * 1024 * 1024 };

describe('Marker/MaxItems pagination', () => {
  it('walks every item once, in order, page by page', () => {
    const items = ['c', 'a', 'e', 'b', 'd'];
    const seen: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    do {
      const page = paginate(items, (x) => x, marker, 2);
      seen.push(...page.items);
      marker = page.nextMarker;
      pages += 1;
    } while (marker);
    assert.deepEqual(seen, ['a', 'b', 'c', 'd', 'e']);
    assert.equal(pages, 3);
  });

  it('orders version numbers numerically after $LATEST', () => {
    const page = paginate(['10', '$LATEST', '2', '1'], (x) => x, undefined, 10);
    assert.deepEqual(page.items, ['$LATEST', '1', '2', '10']);
    assert.equal(page.nextMarker, undefined);
  });

  it('refuses a forged marker and an out-of-range MaxItems', () => {
    assert.throws(() => paginate(['a'], (x) => x, '!!', 1), { code: 'InvalidParameterValueException' });
    assert.throws(() => parseMaxItems('0', 50), { code: 'ValidationException' });
    assert.throws(() => parseMaxItems('10001', 50), { code: 'ValidationException' });
    assert.equal(parseMaxItems(undefined, 50), 50);
  });
});

describe('reserved concurrency', () => {
  const limits = { namespaceLimit: 1000, unreservedMinimum: 100 };

  it('keeps the unreserved minimum free', () => {
    checkReservation(limits, 800, 100);
    assert.throws(() => checkReservation(limits, 800, 101), {
      code: 'InvalidParameterValueException',
      message: /below its minimum value of \[100\]/,
    });
  });

  it('reports the namespace as the account in GetAccountSettings', () => {
    const s = accountSettings(
      { ...limits, maxZipBytes: 5, maxUnzippedBytes: 6 },
      {
        reserved: [10, 0, 5],
        codeSizes: [1, 2],
        functionCount: 3,
      },
    );
    assert.equal(s.AccountLimit.ConcurrentExecutions, 1000);
    assert.equal(s.AccountLimit.UnreservedConcurrentExecutions, 985);
    assert.deepEqual(s.AccountUsage, { TotalCodeSize: 3, FunctionCount: 3 });
  });
});

describe('ZipFile intake', () => {
  const b64 = (b: Buffer) => b.toString('base64');

  it('returns the bytes of a good zip', () => {
    assert.deepEqual(zipBytesOf({ ZipFile: b64(helloZip()) }, LIMITS), helloZip());
  });

  it('refuses S3 locations, images, missing code, bad base64, hostile and oversize zips', () => {
    const cases: Array<[object, string, RegExp]> = [
      [{ S3Bucket: 'b', S3Key: 'k' }, 'InvalidParameterValueException', /S3Bucket\/S3Key .* not supported/],
      [{ ImageUri: 'x' }, 'InvalidParameterValueException', /ImageUri/],
      [{}, 'InvalidParameterValueException', /provide a source/],
      [{ ZipFile: 'not base64!' }, 'InvalidParameterValueException', /base64/],
      [{ ZipFile: b64(traversalZip()) }, 'InvalidParameterValueException', /Could not unzip/],
      [
        { ZipFile: b64(Buffer.from('plain text, not a zip')) },
        'InvalidParameterValueException',
        /Could not unzip/,
      ],
      [
        { ZipFile: b64(Buffer.alloc(LIMITS.maxZipBytes + 3)) },
        'RequestEntityTooLargeException',
        /smaller than/,
      ],
    ];
    for (const [code, type, message] of cases) {
      assert.throws(
        () => zipBytesOf(code, LIMITS),
        { code: type, message },
        JSON.stringify(code).slice(0, 60),
      );
    }
  });
});

describe('signed download URLs', () => {
  const key = 'k'.repeat(32);
  const sha = 'ab'.repeat(32);
  const parts = (url: string) => {
    const u = new URL(url);
    return [
      u.searchParams.get('expires') ?? undefined,
      u.searchParams.get('signature') ?? undefined,
    ] as const;
  };

  it('are valid until they expire', () => {
    const url = signDownloadUrl('http://store:8090/', key, sha, 1_000_000, 60);
    assert.match(url, /^http:\/\/store:8090\/downloads\/sha256\/(ab)+\?expires=1060&signature=[0-9a-f]{64}$/);
    assert.deepEqual(checkDownload(key, sha, ...parts(url), 1_059_000), { ok: true });
    assert.deepEqual(checkDownload(key, sha, ...parts(url), 1_061_000), { ok: false, why: 'expired' });
  });

  it('cannot be moved to another blob, extended, or signed with another key', () => {
    const [expires, signature] = parts(signDownloadUrl('http://s', key, sha, 0, 60));
    assert.equal(checkDownload(key, 'cd'.repeat(32), expires, signature, 0).ok, false);
    assert.equal(checkDownload(key, sha, '999999', signature, 0).ok, false);
    assert.equal(checkDownload('j'.repeat(32), sha, expires, signature, 0).ok, false);
    assert.equal(checkDownload(key, sha, expires, undefined, 0).ok, false);
  });
});
