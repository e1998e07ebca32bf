// The examples as `npm run up` applies them (namespace default), called the way their headers
// describe: each through its function URL and through the Invoke API of the installed gateway.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { installedRelease, invokeUrl, waitActive, type Release } from '../harness/release.js';

const NAMESPACE = 'default';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height from a PNG's IHDR chunk, after checking the signature. */
function pngSize(bytes: Buffer): { width: number; height: number } {
  assert.ok(
    bytes.subarray(0, 8).equals(PNG_SIGNATURE),
    `not a PNG: ${bytes.subarray(0, 16).toString('hex')}`,
  );
  assert.equal(bytes.subarray(12, 16).toString('latin1'), 'IHDR');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

describe('examples, as their headers call them', () => {
  let release: Release;
  const url = (name: string, query = '') => `${release.gatewayUrl}/lambda-url/${NAMESPACE}/${name}/${query}`;

  /** Invoke API, RequestResponse: the function's result as JSON. */
  async function invoke(name: string, event: unknown): Promise<Record<string, unknown>> {
    const response = await fetch(invokeUrl(release, NAMESPACE, name), {
      method: 'POST',
      body: JSON.stringify(event),
    });
    const text = await response.text();
    assert.equal(response.status, 200, text);
    assert.equal(response.headers.get('x-amz-function-error'), null, text);
    return JSON.parse(text) as Record<string, unknown>;
  }

  before(async () => {
    release = await installedRelease();
    for (const name of ['calculator', 'random-image', 'word-segmentation']) {
      await waitActive(release, NAMESPACE, name, 'functions', 180_000);
    }
  });

  describe('calculator', () => {
    const cases = [
      ['add', 9],
      ['subtract', 3],
      ['multiply', 18],
      ['divide', 2],
      ['sub', 3],
      ['mul', 18],
      ['div', 2],
      ['plus', 9],
    ] as const;

    for (const [operator, result] of cases) {
      it(`answers 6 ${operator} 3 = ${result} through its function URL`, async () => {
        const response = await fetch(url('calculator', `?num1=6&num2=3&operator=${operator}`));
        const body = await response.text();
        assert.equal(response.status, 200, body);
        assert.equal((JSON.parse(body) as { result: number }).result, result);
      });
    }

    it('answers 6 multiply 7 = 42 through the Invoke API, in the event shape its URL sends', async () => {
      const answer = await invoke('calculator', {
        queryStringParameters: { num1: '6', num2: '7', operator: 'multiply' },
      });
      assert.equal(answer.statusCode, 200, JSON.stringify(answer));
      assert.deepEqual(JSON.parse(answer.body as string), {
        num1: 6,
        num2: 7,
        operator: 'multiply',
        result: 42,
      });
    });

    it('answers 7 divide 2 = 3.5 through the Invoke API with the fields as the event', async () => {
      const answer = await invoke('calculator', { num1: 7, num2: 2, operator: 'divide' });
      assert.equal((JSON.parse(answer.body as string) as { result: number }).result, 3.5);
    });

    it('refuses an unknown operator and a division by zero with 400 and a reason', async () => {
      const unknown = await fetch(url('calculator', '?num1=6&num2=3&operator=modulo'));
      assert.equal(unknown.status, 400);
      assert.match(await unknown.text(), /add, subtract, multiply, divide/);
      const byZero = await fetch(url('calculator', '?num1=6&num2=0&operator=divide'));
      assert.equal(byZero.status, 400);
      assert.match(await byZero.text(), /division by zero/);
    });
  });

  describe('random-image', () => {
    it('returns a PNG of the asked size through its function URL, different on each call', async () => {
      const images: Buffer[] = [];
      for (let i = 0; i < 2; i++) {
        const response = await fetch(url('random-image', '?width=64&height=32'));
        assert.equal(response.status, 200);
        assert.equal(response.headers.get('content-type'), 'image/png');
        images.push(Buffer.from(await response.arrayBuffer()));
      }
      assert.deepEqual(pngSize(images[0]!), { width: 64, height: 32 });
      assert.deepEqual(pngSize(images[1]!), { width: 64, height: 32 });
      assert.ok(!images[0]!.equals(images[1]!), 'two calls returned the same image');
    });

    it('returns the PNG base64-encoded through the Invoke API', async () => {
      const answer = await invoke('random-image', { width: 48, height: 40 });
      assert.equal(answer.statusCode, 200);
      assert.equal(answer.isBase64Encoded, true);
      assert.equal((answer.headers as Record<string, string>)['content-type'], 'image/png');
      assert.deepEqual(pngSize(Buffer.from(answer.body as string, 'base64')), { width: 48, height: 40 });
    });
  });

  describe('word-segmentation (jieba from a layer shared by another namespace)', () => {
    const text = '我来到北京清华大学';
    const words = ['我', '来到', '北京', '清华大学'];

    it('segments JSON posted to its function URL', async () => {
      const response = await fetch(url('word-segmentation'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text }),
      });
      const body = await response.text();
      assert.equal(response.status, 200, body);
      assert.deepEqual(JSON.parse(body), { text, words });
    });

    it('segments a plain-text body and a ?text= query through its function URL', async () => {
      const posted = await fetch(url('word-segmentation'), {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: text,
      });
      assert.deepEqual(await posted.json(), { text, words });
      const queried = await fetch(url('word-segmentation', `?text=${encodeURIComponent(text)}`));
      assert.deepEqual(await queried.json(), { text, words });
    });

    it('segments {"text": …} sent through the Invoke API', async () => {
      assert.deepEqual(await invoke('word-segmentation', { text }), { text, words });
    });
  });
});
