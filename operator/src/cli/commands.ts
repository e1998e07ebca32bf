// The `lamina` command line (the entry point is bin/lamina.ts), kept importable for tests.
//   lamina push <file.zip> [--store URL] [--token T]   upload a zip to the artifact store; prints its sha256
// The store URL defaults to $LAMINA_STORE_URL, then http://127.0.0.1:8090
// (e.g. `kubectl -n lamina-system port-forward svc/lamina-store 8090`).
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { StoreClient, StoreError } from '../store/index.js';

const USAGE = `usage: lamina push <file.zip> [--store URL] [--token TOKEN]

  Uploads a function or layer zip to Lamina's artifact store and prints its sha256,
  for spec.code.sha256 (Function) or spec.content.sha256 (Layer).

  --store URL   artifact store base URL (default: $LAMINA_STORE_URL or http://127.0.0.1:8090)
  --token TOKEN Kubernetes bearer token, when the store checks uploaders (default: $LAMINA_TOKEN)`;

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        store: { type: 'string' },
        token: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        json: { type: 'boolean' },
      },
    });
  } catch (err) {
    console.error(`lamina: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const [command, file, ...rest] = parsed.positionals;
  if (parsed.values.help || command === undefined) {
    console.log(USAGE);
    return command === undefined && !parsed.values.help ? 2 : 0;
  }
  if (command !== 'push' || !file || rest.length > 0) {
    console.error(USAGE);
    return 2;
  }
  const storeUrl = parsed.values.store ?? process.env.LAMINA_STORE_URL ?? 'http://127.0.0.1:8090';
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    console.error(`lamina: cannot read ${file}: ${(err as Error).message}`);
    return 1;
  }
  try {
    const token = parsed.values.token ?? process.env.LAMINA_TOKEN;
    const result = await new StoreClient(storeUrl, token).put(bytes);
    if (parsed.values.json)
      console.log(
        JSON.stringify({ sha256: result.sha256, size: result.size, unzippedSize: result.unzippedSize }),
      );
    else console.log(result.sha256);
    return 0;
  } catch (err) {
    if (err instanceof StoreError)
      console.error(`lamina: ${err.errorType}${err.reason ? ` (${err.reason})` : ''}: ${err.message}`);
    else console.error(`lamina: ${(err as Error).message}`);
    return 1;
  }
}
