// SigV4 verification: AWS's published Signature Version 4 test suite (credentials AKIDEXAMPLE,
// 2015-08-30T12:36:00Z, region us-east-1, service "service"), then requests signed by the AWS
// SDK's own signer (@smithy/signature-v4) as the Lambda client signs them, and each way a
// request must be refused.
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  bodySha256,
  canonicalPath,
  canonicalQuery,
  parseAuthorization,
  type SignedRequest,
  uriEscape,
  verifySigV4,
} from '../../../../operator/src/gateway/auth/sigv4.js';

const SUITE_KEY = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const SUITE_NOW = Date.UTC(2015, 7, 30, 12, 36, 0);
const HOST = 'example.amazonaws.com';
const DATE = '20150830T123600Z';
const scope = 'AKIDEXAMPLE/20150830/us-east-1/service/aws4_request';

/** One case of the suite: the request and the signature AWS published for it. */
interface SuiteCase {
  name: string;
  method: string;
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
  signedHeaders: string;
  signature: string;
}

// From AWS's Signature Version 4 test suite (the cases the AWS SDK for JavaScript runs).
const SUITE: SuiteCase[] = [
  {
    name: 'get-vanilla',
    method: 'GET',
    path: '/',
    signedHeaders: 'host;x-amz-date',
    signature: '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
  },
  {
    name: 'get-header-key-duplicate',
    method: 'GET',
    path: '/',
    headers: { 'my-header1': 'value2,value2,value1' },
    signedHeaders: 'host;my-header1;x-amz-date',
    signature: 'c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea',
  },
  {
    name: 'get-header-value-order',
    method: 'GET',
    path: '/',
    headers: { 'my-header1': 'value4,value1,value3,value2' },
    signedHeaders: 'host;my-header1;x-amz-date',
    signature: '08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01',
  },
  {
    name: 'get-header-value-trim',
    method: 'GET',
    path: '/',
    headers: { 'my-header1': 'value1', 'my-header2': '"a   b   c"' },
    signedHeaders: 'host;my-header1;my-header2;x-amz-date',
    signature: 'acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736',
  },
  {
    name: 'get-unreserved',
    method: 'GET',
    path: '/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
    signedHeaders: 'host;x-amz-date',
    signature: '07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f',
  },
  {
    name: 'get-utf8',
    method: 'GET',
    path: '/\u1234',
    signedHeaders: 'host;x-amz-date',
    signature: '8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85',
  },
  {
    name: 'get-vanilla-empty-query-key',
    method: 'GET',
    path: '/',
    query: { Param1: 'value1' },
    signedHeaders: 'host;x-amz-date',
    signature: 'a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb',
  },
  {
    name: 'get-vanilla-query-order-key-case',
    method: 'GET',
    path: '/',
    query: { Param2: 'value2', Param1: 'value1' },
    signedHeaders: 'host;x-amz-date',
    signature: 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500',
  },
  {
    name: 'get-vanilla-query-unreserved',
    method: 'GET',
    path: '/',
    query: {
      '-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz':
        '-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
    },
    signedHeaders: 'host;x-amz-date',
    signature: '9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197',
  },
  {
    name: 'get-vanilla-utf8-query',
    method: 'GET',
    path: '/',
    query: { '\u1234': 'bar' },
    signedHeaders: 'host;x-amz-date',
    signature: '2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04',
  },
  {
    name: 'post-vanilla',
    method: 'POST',
    path: '/',
    signedHeaders: 'host;x-amz-date',
    signature: '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b',
  },
  {
    name: 'post-header-key-sort',
    method: 'POST',
    path: '/',
    headers: { 'my-header1': 'value1' },
    signedHeaders: 'host;my-header1;x-amz-date',
    signature: 'c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c',
  },
  {
    name: 'post-header-value-case',
    method: 'POST',
    path: '/',
    headers: { 'my-header1': 'VALUE1' },
    signedHeaders: 'host;my-header1;x-amz-date',
    signature: 'cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d',
  },
  {
    name: 'post-sts-header-before',
    method: 'POST',
    path: '/',
    headers: {
      'x-amz-security-token':
        'AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==',
    },
    signedHeaders: 'host;x-amz-date;x-amz-security-token',
    signature: '85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead',
  },
  {
    name: 'post-vanilla-query',
    method: 'POST',
    path: '/',
    query: { Param1: 'value1' },
    signedHeaders: 'host;x-amz-date',
    signature: '28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11',
  },
  {
    name: 'post-vanilla-query-nonunreserved',
    method: 'POST',
    path: '/',
    query: { '@#$%^': '', '+': '/,?><`";:\\|][{}' },
    signedHeaders: 'host;x-amz-date',
    signature: '66c82657c86e26fb25238d0e69f011edc4c6df5ae71119d7cb98ed9b87393c1e',
  },
  {
    name: 'post-vanilla-query-space',
    method: 'POST',
    path: '/',
    query: { p: '' },
    signedHeaders: 'host;x-amz-date',
    signature: 'e71688addb58a26418614085fb730ba3faa623b461c17f48f2fbdb9361b94a9b',
  },
  {
    name: 'post-x-www-form-urlencoded',
    method: 'POST',
    path: '/',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'Param1=value1',
    signedHeaders: 'content-type;host;x-amz-date',
    signature: 'ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a',
  },
  {
    name: 'post-x-www-form-urlencoded-parameters',
    method: 'POST',
    path: '/',
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf8' },
    body: 'Param1=value1',
    signedHeaders: 'content-type;host;x-amz-date',
    signature: '1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe',
  },
];

function suiteRequest(c: SuiteCase): SignedRequest {
  const query = Object.entries(c.query ?? {})
    .map(([k, v]) => `${uriEscape(k)}=${uriEscape(v)}`)
    .join('&');
  return {
    method: c.method,
    path: c.path,
    query,
    headers: {
      host: HOST,
      'x-amz-date': DATE,
      ...c.headers,
      authorization: `AWS4-HMAC-SHA256 Credential=${scope}, SignedHeaders=${c.signedHeaders}, Signature=${c.signature}`,
    },
    bodySha256: bodySha256(c.body === undefined ? undefined : Buffer.from(c.body)),
  };
}

const suiteSecrets = (id: string) => (id === SUITE_KEY.accessKeyId ? SUITE_KEY.secretAccessKey : undefined);

describe('SigV4 against AWS’s published test suite', () => {
  for (const c of SUITE) {
    it(`verifies ${c.name}`, () => {
      const verdict = verifySigV4(suiteRequest(c), { secretOf: suiteSecrets, now: SUITE_NOW });
      assert.deepEqual(verdict, { outcome: 'verified', accessKeyId: 'AKIDEXAMPLE', region: 'us-east-1' });
    });
  }

  it('refuses every suite request with one bit of its signature changed', () => {
    for (const c of SUITE) {
      const flipped = (parseInt(c.signature[0]!, 16) ^ 1).toString(16) + c.signature.slice(1);
      const verdict = verifySigV4(suiteRequest({ ...c, signature: flipped }), {
        secretOf: suiteSecrets,
        now: SUITE_NOW,
      });
      assert.equal(verdict.outcome, 'mismatch', c.name);
    }
  });
});

describe('SigV4 canonical forms', () => {
  it('encodes path segments again, as the SDKs do for every service but S3', () => {
    assert.equal(
      canonicalPath(
        '/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3Ateam-a%3Afunction%3Agreet/invocations',
      ),
      '/2015-03-31/functions/arn%253Aaws%253Alambda%253Aus-east-1%253Ateam-a%253Afunction%253Agreet/invocations',
    );
    assert.equal(canonicalPath('/a/./b/../c//d/'), '/a/c/d/');
    assert.equal(canonicalPath('/'), '/');
  });

  it('sorts query pairs by key then value and re-encodes them', () => {
    assert.equal(canonicalQuery('b=2&a=1&a=0&Qualifier=%24LATEST'), 'Qualifier=%24LATEST&a=0&a=1&b=2');
    assert.equal(canonicalQuery('MaxItems=50&Marker'), 'Marker=&MaxItems=50');
  });

  it('parses the Authorization header and says what is missing', () => {
    const parsed = parseAuthorization(
      `AWS4-HMAC-SHA256 Credential=${scope}, SignedHeaders=host;x-amz-date, Signature=${'a'.repeat(64)}`,
    );
    assert.deepEqual(parsed, {
      accessKeyId: 'AKIDEXAMPLE',
      date: '20150830',
      region: 'us-east-1',
      service: 'service',
      signedHeaders: ['host', 'x-amz-date'],
      signature: 'a'.repeat(64),
    });
    assert.match(
      (parseAuthorization(`AWS4-HMAC-SHA256 Credential=${scope}`) as { incomplete: string }).incomplete,
      /'SignedHeaders', 'Signature'/,
    );
  });
});

/** node:crypto behind the Hash interface @smithy/signature-v4 takes. */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

type SourceData = string | ArrayBuffer | ArrayBufferView;
function bytes(data: SourceData): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

const KEY = {
  accessKeyId: 'LAMINAEXAMPLEKEY0001',
  secretAccessKey: 'q9n1Cwlxk3zM0eX2o5dP7rT4vB8yH6sJ0aF2gK4L',
};
const NOW = Date.UTC(2026, 0, 15, 10, 0, 0);

/** Signs as @aws-sdk/client-lambda does: service "lambda", no x-amz-content-sha256. */
async function sdkSigned(
  request: { method: string; path: string; query?: Record<string, string>; body?: string },
  options: { secret?: string; at?: number } = {},
): Promise<SignedRequest> {
  const signer = new SignatureV4({
    credentials: { accessKeyId: KEY.accessKeyId, secretAccessKey: options.secret ?? KEY.secretAccessKey },
    region: 'us-east-1',
    service: 'lambda',
    sha256: NodeSha256,
    applyChecksum: false,
  });
  const headers: Record<string, string> = {
    host: 'gateway.lamina.test:30080',
    'content-type': 'application/json',
  };
  if (request.body !== undefined) headers['content-length'] = String(Buffer.byteLength(request.body));
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: 'gateway.lamina.test',
      port: 30080,
      path: request.path,
      query: request.query ?? {},
      headers,
      ...(request.body !== undefined && { body: request.body }),
    },
    { signingDate: new Date(options.at ?? NOW) },
  );
  const query = Object.entries(request.query ?? {})
    .map(([k, v]) => `${uriEscape(k)}=${uriEscape(v)}`)
    .join('&');
  const lower = Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    method: request.method,
    path: request.path,
    query,
    headers: lower,
    bodySha256: bodySha256(request.body === undefined ? undefined : Buffer.from(request.body)),
  };
}

const keys = (id: string) => (id === KEY.accessKeyId ? KEY.secretAccessKey : undefined);
const INVOKE_PATH =
  '/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3Ateam-a%3Afunction%3Agreet/invocations';

describe('SigV4 on requests signed by the AWS SDK’s signer', () => {
  it('verifies an Invoke with an ARN in the path, a qualifier and a body', async () => {
    const request = await sdkSigned({
      method: 'POST',
      path: INVOKE_PATH,
      query: { Qualifier: 'live' },
      body: '{"n":1}',
    });
    assert.deepEqual(verifySigV4(request, { secretOf: keys, now: NOW, service: 'lambda' }), {
      outcome: 'verified',
      accessKeyId: KEY.accessKeyId,
      region: 'us-east-1',
    });
  });

  it('verifies a control-plane GET with paging parameters', async () => {
    const request = await sdkSigned({
      method: 'GET',
      path: '/2015-03-31/functions/',
      query: { MaxItems: '50', Marker: 'a b+c' },
    });
    assert.equal(verifySigV4(request, { secretOf: keys, now: NOW, service: 'lambda' }).outcome, 'verified');
  });

  it('refuses a signature made with another secret', async () => {
    const request = await sdkSigned(
      { method: 'POST', path: INVOKE_PATH, body: '{}' },
      { secret: 'not-the-secret' },
    );
    const verdict = verifySigV4(request, { secretOf: keys, now: NOW });
    assert.equal(verdict.outcome, 'mismatch');
    assert.match((verdict as { message: string }).message, /does not match the signature you provided/);
  });

  it('refuses a key it does not know, naming no secret', async () => {
    const request = await sdkSigned({ method: 'POST', path: INVOKE_PATH, body: '{}' });
    assert.deepEqual(verifySigV4(request, { secretOf: () => undefined, now: NOW }), {
      outcome: 'unknown-key',
      accessKeyId: KEY.accessKeyId,
    });
  });

  it('refuses a request replayed more than 5 minutes after it was signed', async () => {
    const request = await sdkSigned({ method: 'POST', path: INVOKE_PATH, body: '{}' });
    assert.equal(verifySigV4(request, { secretOf: keys, now: NOW + 5 * 60_000 }).outcome, 'verified');
    const verdict = verifySigV4(request, { secretOf: keys, now: NOW + 5 * 60_000 + 1000 });
    assert.equal(verdict.outcome, 'expired');
    assert.equal(
      (verdict as { message: string }).message,
      'Signature expired: 20260115T100000Z is now earlier than 20260115T100001Z (20260115T100501Z - 5 min.)',
    );
  });

  it('refuses a request dated more than 5 minutes ahead', async () => {
    const request = await sdkSigned(
      { method: 'POST', path: INVOKE_PATH, body: '{}' },
      { at: NOW + 6 * 60_000 },
    );
    assert.equal(verifySigV4(request, { secretOf: keys, now: NOW }).outcome, 'not-yet-current');
  });

  it('refuses a tampered body, path, query or signed header', async () => {
    const request = await sdkSigned({
      method: 'POST',
      path: INVOKE_PATH,
      query: { Qualifier: 'live' },
      body: '{"amount":1}',
    });
    const tampered: SignedRequest[] = [
      { ...request, bodySha256: bodySha256(Buffer.from('{"amount":1000}')) },
      { ...request, path: INVOKE_PATH.replace('greet', 'admin') },
      { ...request, query: 'Qualifier=%24LATEST' },
      { ...request, method: 'PUT' },
      { ...request, headers: { ...request.headers, host: 'elsewhere:30080' } },
      { ...request, headers: { ...request.headers, 'x-amz-date': '20260115T100001Z' } },
    ];
    for (const t of tampered) assert.equal(verifySigV4(t, { secretOf: keys, now: NOW }).outcome, 'mismatch');
  });

  it('refuses a declared payload hash that is not the body’s, and unsigned payloads', async () => {
    const request = await sdkSigned({ method: 'POST', path: INVOKE_PATH, body: '{}' });
    for (const declared of ['UNSIGNED-PAYLOAD', bodySha256(Buffer.from('{"x":1}'))]) {
      const verdict = verifySigV4(
        { ...request, headers: { ...request.headers, 'x-amz-content-sha256': declared } },
        { secretOf: keys, now: NOW },
      );
      assert.equal(verdict.outcome, 'mismatch');
    }
  });

  it('refuses a credential scoped to another service, and unsigned Host', async () => {
    const request = await sdkSigned({ method: 'GET', path: '/2015-03-31/functions/' });
    assert.equal(verifySigV4(request, { secretOf: keys, now: NOW, service: 's3' }).outcome, 'incomplete');
    const auth = String(request.headers.authorization).replace(
      /SignedHeaders=[^,]*/,
      'SignedHeaders=x-amz-date',
    );
    assert.equal(
      verifySigV4(
        { ...request, headers: { ...request.headers, authorization: auth } },
        { secretOf: keys, now: NOW },
      ).outcome,
      'incomplete',
    );
  });
});
