// A generic (warm-pool) agent pays the first-use costs of its specialisation path while it
// waits, rather than inside a cold start: Node's fetch and HTTP client, the DNS resolver (its
// thread pool and configuration), hashing, zip reading and inflating, and the configuration
// schema. Nothing here touches the file system or keeps any state of its own.
import AdmZip from 'adm-zip';
import { createHash } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { parseFunctionConfig } from './config.js';
import { inflateBounded, MAX_UNZIPPED_BYTES, MAX_ZIP_ENTRIES, openZip, validateZipEntries } from './zip.js';

const SAMPLE_CONFIG = {
  functionName: 'warm-up',
  namespace: 'default',
  version: '$LATEST',
  runtime: 'nodejs20.x',
  handler: 'index.handler',
  memorySize: 128,
  timeout: 3,
  code: { url: 'http://127.0.0.1/blobs/sha256/0', sha256: '0'.repeat(64) },
  layers: [],
  environment: {},
  functionArn: 'arn:aws:lambda:us-east-1:default:function:warm-up',
  region: 'us-east-1',
  initializationType: 'on-demand',
};

export async function warmUp(invokePort: number): Promise<void> {
  await Promise.allSettled([
    fetch(`http://127.0.0.1:${invokePort}/healthz`).then((res) => res.arrayBuffer()),
    lookup('localhost'),
  ]);
  const zip = new AdmZip();
  zip.addFile('index.js', Buffer.from('exports.handler = async () => null;\n'.repeat(8)));
  const bytes = zip.toBuffer();
  createHash('sha256').update(bytes).digest('hex');
  const archive = openZip(bytes);
  validateZipEntries(archive.entries, { maxEntries: MAX_ZIP_ENTRIES, maxUnzippedBytes: MAX_UNZIPPED_BYTES });
  archive.entries.forEach((entry, i) =>
    inflateBounded(archive.compressedData(i), entry.method, entry.uncompressedSize, entry.name),
  );
  parseFunctionConfig(SAMPLE_CONFIG);
}
