// Inline function files become a zip whose bytes depend only on the files: entries sorted
// by path, one fixed timestamp, fixed permissions. The same files therefore always give the
// same sha256, so an unchanged Function never looks changed and never publishes a version.
import AdmZip from 'adm-zip';

/** 1980-01-01 00:00:00 in MS-DOS date/time form (date in the high 16 bits): the zip epoch, time-zone free. */
const DOS_EPOCH = (((1980 - 1980) << 9) | (1 << 5) | 1) << 16;
/** rw-r--r--; adm-zip adds the regular-file type bits. */
const FILE_MODE = 0o644;
/**
 * rwxr-xr-x for scripts: an inline file cannot carry a mode, and a custom runtime's
 * `bootstrap` (or any script it runs) must be executable, so a `#!` line marks one.
 */
const SCRIPT_MODE = 0o755;

const modeOf = (content: string) => (content.startsWith('#!') ? SCRIPT_MODE : FILE_MODE);

export function zipInlineFiles(files: Record<string, string>): Buffer {
  const zip = new AdmZip();
  const paths = Object.keys(files).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const path of paths) {
    const content = files[path] ?? '';
    zip.addFile(path, Buffer.from(content, 'utf8'), '', modeOf(content));
    const entry = zip.getEntry(path);
    if (entry) entry.header.timeval = DOS_EPOCH;
  }
  return zip.toBuffer();
}
