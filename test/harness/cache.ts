// Where tests keep what they build once (binaries, virtualenvs): the same cache the
// provisioning scripts use (scripts/versions.sh), outside the repository.
import { homedir } from 'node:os';
import { join } from 'node:path';

export function cacheDir(): string {
  return (
    process.env.LAMINA_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'lamina')
  );
}
