// Fetches the function's code and layers (or takes the bytes the gateway sent inline with a
// small one), proves each is the pinned digest, and lays them
// out: code in the task root, layers in order in the opt root (a later layer's file wins).
// Every archive is validated before anything is written, so a bad layer 3 leaves no trace
// of the code or layers 1-2 either (and a failed specialisation can simply be retried).
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FunctionConfig } from './config.js';
import {
  AgentError,
  ArtifactFetchError,
  CodeVerificationFailedError,
  ExtractionFailedError,
} from './errors.js';
import {
  extractZip,
  MAX_ZIP_ENTRIES,
  openZip,
  undoExtraction,
  validateZipEntries,
  type ExtractionJournal,
} from './zip.js';

const DOWNLOAD_TIMEOUT_MS = 5 * 60_000;
/** A zip can be slightly larger than its contents (headers, incompressible data). */
const ZIP_OVERHEAD_ALLOWANCE = 16 * 1024 * 1024;

export interface ArtifactRef {
  url: string;
  sha256: string;
  /** The zip itself, base64, when the gateway sent it with the configuration. */
  inline?: string;
}

/** The bytes sent inline, which are then dropped from the configuration the agent keeps. */
function takeInline(ref: ArtifactRef): Buffer {
  const bytes = Buffer.from(ref.inline ?? '', 'base64');
  delete ref.inline;
  return bytes;
}

/** How long a download that cannot connect is retried. */
const CONNECT_RETRY_MS = 10_000;

/** Downloads (fetch keeps connections alive between the code and layer requests) or reads a file:// URL. */
export async function fetchArtifact(url: string, maxBytes: number): Promise<Buffer> {
  if (url.startsWith('file://')) {
    const path = fileURLToPath(url);
    try {
      const info = await stat(path);
      if (info.size > maxBytes)
        throw new ArtifactFetchError(`${url} is ${info.size} bytes; the limit is ${maxBytes}`);
      return await readFile(path);
    } catch (err) {
      if (err instanceof ArtifactFetchError) throw err;
      throw new ArtifactFetchError(`Could not read ${url}: ${(err as Error).message}`);
    }
  }
  let response: Response;
  const deadline = Date.now() + CONNECT_RETRY_MS;
  for (let delay = 100; ; delay = Math.min(delay * 2, 1000)) {
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
      break;
    } catch (err) {
      // Refused before any answer: a new pod may reach NetworkPolicy enforcement a moment
      // late (the store's policy does not know its address yet). Timeouts are not retried.
      if ((err as Error).name === 'TimeoutError' || Date.now() + delay > deadline) {
        throw new ArtifactFetchError(`GET ${url} failed: ${(err as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new ArtifactFetchError(`GET ${url} returned HTTP ${response.status}`);
  }
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    for await (const chunk of response.body) {
      length += chunk.length;
      if (length > maxBytes) throw new ArtifactFetchError(`${url} is larger than ${maxBytes} bytes`);
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof ArtifactFetchError) throw err;
    throw new ArtifactFetchError(`GET ${url} failed while reading: ${(err as Error).message}`);
  }
  return Buffer.concat(chunks, length);
}

export function verifyDigest(bytes: Buffer, expected: string, label: string): void {
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== expected) {
    throw new CodeVerificationFailedError(
      `The sha256 of the ${label} is ${actual}; the configuration expects ${expected}`,
    );
  }
}

interface Planned {
  label: string;
  target: string;
  archive: ReturnType<typeof openZip>;
  plan: Extract<ReturnType<typeof validateZipEntries>, { ok: true }>['entries'];
}

/** Fetch → verify → validate all → extract all. Returns the unzipped byte count. */
export async function installArtifacts(
  config: FunctionConfig,
  roots: { taskRoot: string; optRoot: string },
): Promise<{ unzippedBytes: number }> {
  // An image function brings its code in its own container.
  if (!config.code) return { unzippedBytes: 0 };
  const sources = [
    { label: 'function code', ref: config.code, target: roots.taskRoot },
    ...config.layers.map((ref, i) => ({ label: `layer ${i + 1}`, ref, target: roots.optRoot })),
  ];
  const maxDownload = config.maxUnzippedBytes + ZIP_OVERHEAD_ALLOWANCE;
  const downloads = await Promise.all(
    sources.map((s) =>
      s.ref.inline !== undefined ? takeInline(s.ref) : fetchArtifact(s.ref.url, maxDownload),
    ),
  );

  let used = 0;
  const planned: Planned[] = sources.map((source, i) => {
    const bytes = downloads[i] as Buffer;
    verifyDigest(bytes, source.ref.sha256, source.label);
    try {
      const archive = openZip(bytes);
      const result = validateZipEntries(archive.entries, {
        maxEntries: MAX_ZIP_ENTRIES,
        maxUnzippedBytes: config.maxUnzippedBytes,
        usedBytes: used,
      });
      if (!result.ok) throw result.error;
      used += result.totalBytes;
      return { label: source.label, target: source.target, archive, plan: result.entries };
    } catch (err) {
      throw labelled(err, source.label);
    }
  });

  const journal: ExtractionJournal = { created: [] };
  try {
    for (const p of planned) {
      try {
        await extractZip(p.archive, p.plan, p.target, journal);
      } catch (err) {
        throw labelled(err, p.label);
      }
    }
  } catch (err) {
    undoExtraction(journal);
    throw err;
  }
  return { unzippedBytes: used };
}

/** Says which archive an error came from ("layer 2: Entry '../x' escapes …"); I/O errors become typed. */
function labelled(err: unknown, label: string): AgentError {
  if (err instanceof AgentError) {
    err.message = `${label}: ${err.message}`;
    return err;
  }
  return new ExtractionFailedError(`${label}: ${(err as Error)?.message ?? String(err)}`);
}
