// What the operator needs from an artifact store, whether it runs in-process (BlobStore on
// a directory) or as a separate service (StoreClient over HTTP): content addressed by sha256.

export interface BlobInfo {
  sha256: string;
  /** Zipped size in bytes. */
  size: number;
  /** Total size of the entries once extracted. */
  unzippedSize: number;
  /** When the blob was last written (ms since the epoch); garbage collection's grace starts here. */
  storedAt: number;
}

export interface PutResult extends BlobInfo {
  /** False when the store already held these bytes. */
  created: boolean;
}

export interface ArtifactStore {
  /** Validates (size, digest when given, hostile-zip checks) and stores the zip. */
  put(bytes: Buffer, expectedSha256?: string): Promise<PutResult>;
  stat(sha256: string): Promise<BlobInfo | undefined>;
  /** The bytes, verified against their digest; throws rather than return corrupted data. */
  get(sha256: string): Promise<Buffer>;
  list(): Promise<BlobInfo[]>;
  delete(sha256: string): Promise<boolean>;
}
