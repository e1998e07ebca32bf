// The embedded artifact store: content-addressed zips in a directory (a PersistentVolume in
// the cluster, a temp dir in tests). Layout:
//   blobs/sha256/<hex>        the zip
//   blobs/sha256/<hex>.json   facts computed once at upload (size, unzippedSize, storedAt)
//   tmp/                      partial writes; renamed into place, so readers never see half a file
//   quarantine/               files that failed their digest check on read
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Clock, systemClock } from '../shared/index.js';
import type { ArtifactStore, BlobInfo, PutResult } from './artifact-store.js';
import {
  assertDigest,
  BlobNotFoundError,
  CorruptBlobError,
  DigestMismatchError,
  ZipTooLargeError,
} from './errors.js';
import { inspectZip } from './zip-check.js';

export interface BlobStoreOptions {
  directory: string;
  /** Largest zip accepted (Lambda's direct-upload limit is 50 MB). */
  maxZipBytes: number;
  /** Largest unzipped size of one archive. */
  maxUnzippedBytes: number;
  clock?: Clock;
}

export const sha256Of = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException)?.code === 'ENOENT';

export class BlobStore implements ArtifactStore {
  private readonly blobs: string;
  private readonly tmp: string;
  private readonly quarantine: string;
  private readonly clock: Clock;
  private ready: Promise<void> | undefined;

  constructor(private readonly options: BlobStoreOptions) {
    this.blobs = join(options.directory, 'blobs', 'sha256');
    this.tmp = join(options.directory, 'tmp');
    this.quarantine = join(options.directory, 'quarantine');
    this.clock = options.clock ?? systemClock;
  }

  get maxZipBytes(): number {
    return this.options.maxZipBytes;
  }

  private init(): Promise<void> {
    this.ready ??= Promise.all(
      [this.blobs, this.tmp, this.quarantine].map((dir) => mkdir(dir, { recursive: true })),
    ).then(async () => {
      // Leftovers of writes interrupted by a crash.
      for (const name of await readdir(this.tmp)) await rm(join(this.tmp, name), { force: true });
    });
    return this.ready;
  }

  private path(sha256: string): string {
    assertDigest(sha256);
    return join(this.blobs, sha256);
  }

  /** Write to tmp/, then rename: the file under its final name is always complete. */
  private async writeAtomically(target: string, data: Buffer | string): Promise<void> {
    const temp = join(this.tmp, `${randomBytes(8).toString('hex')}.part`);
    try {
      await writeFile(temp, data, { flush: true });
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  async put(bytes: Buffer, expectedSha256?: string): Promise<PutResult> {
    await this.init();
    if (bytes.length > this.options.maxZipBytes)
      throw new ZipTooLargeError(bytes.length, this.options.maxZipBytes);
    const sha256 = sha256Of(bytes);
    if (expectedSha256 !== undefined) {
      assertDigest(expectedSha256);
      if (expectedSha256 !== sha256) throw new DigestMismatchError(expectedSha256, sha256);
    }
    const facts = inspectZip(bytes, this.options.maxUnzippedBytes);
    const existing = await this.stat(sha256).catch(() => undefined);
    const info: BlobInfo = {
      sha256,
      size: bytes.length,
      unzippedSize: facts.unzippedSize,
      storedAt: this.clock.now(),
    };
    if (!existing) await this.writeAtomically(this.path(sha256), bytes);
    // Re-uploading restarts the garbage-collection grace period.
    await this.writeAtomically(`${this.path(sha256)}.json`, JSON.stringify(info));
    return { ...info, created: !existing };
  }

  async stat(sha256: string): Promise<BlobInfo | undefined> {
    await this.init();
    const path = this.path(sha256);
    let fileStat;
    try {
      fileStat = await stat(path);
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    try {
      const meta = JSON.parse(await readFile(`${path}.json`, 'utf8')) as BlobInfo;
      if (meta.sha256 === sha256 && meta.size === fileStat.size) return meta;
    } catch {
      // missing or unreadable facts: recompute below
    }
    const bytes = await this.get(sha256);
    const info: BlobInfo = {
      sha256,
      size: bytes.length,
      unzippedSize: inspectZip(bytes, Number.MAX_SAFE_INTEGER).unzippedSize,
      storedAt: fileStat.mtimeMs,
    };
    await this.writeAtomically(`${path}.json`, JSON.stringify(info));
    return info;
  }

  async get(sha256: string): Promise<Buffer> {
    await this.init();
    const path = this.path(sha256);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      if (isMissing(err)) throw new BlobNotFoundError(sha256);
      throw err;
    }
    if (sha256Of(bytes) !== sha256) {
      await rename(path, join(this.quarantine, `${sha256}.${this.clock.now()}`)).catch(() => undefined);
      await rm(`${path}.json`, { force: true });
      throw new CorruptBlobError(sha256);
    }
    return bytes;
  }

  async list(): Promise<BlobInfo[]> {
    await this.init();
    const names = (await readdir(this.blobs)).filter((name) => /^[a-f0-9]{64}$/.test(name));
    const infos = await Promise.all(names.map((name) => this.stat(name).catch(() => undefined)));
    return infos.filter((info): info is BlobInfo => info !== undefined);
  }

  async delete(sha256: string): Promise<boolean> {
    await this.init();
    const path = this.path(sha256);
    const existed = await stat(path).then(
      () => true,
      () => false,
    );
    await rm(path, { force: true });
    await rm(`${path}.json`, { force: true });
    return existed;
  }
}
