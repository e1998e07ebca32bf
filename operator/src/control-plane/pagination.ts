// Lambda's Marker/MaxItems pagination over a list sorted by a key, pure. The marker is the
// last key returned (base64url), so a page survives items added or removed meanwhile.
import { InvalidParameterValueException, ValidationException } from '../errors.js';

export interface Page<T> {
  items: T[];
  nextMarker?: string;
}

export function parseMaxItems(value: string | undefined, fallback: number, max = 10_000): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new ValidationException(
      `1 validation error detected: Value '${value}' at 'maxItems' failed to satisfy constraint: Member must have value ${n < 1 ? 'greater than or equal to 1' : `less than or equal to ${max}`}`,
    );
  }
  return n;
}

export function paginate<T>(
  items: readonly T[],
  keyOf: (item: T) => string,
  marker: string | undefined,
  maxItems: number,
): Page<T> {
  const sorted = [...items].sort((a, b) => compare(keyOf(a), keyOf(b)));
  let start = 0;
  if (marker) {
    let after: string;
    try {
      after = Buffer.from(marker, 'base64url').toString('utf8');
    } catch {
      throw new InvalidParameterValueException('Invalid Marker');
    }
    if (!after || Buffer.from(after, 'utf8').toString('base64url') !== marker) {
      throw new InvalidParameterValueException(`Invalid Marker: ${marker}`);
    }
    start = sorted.findIndex((item) => compare(keyOf(item), after) > 0);
    if (start < 0) start = sorted.length;
  }
  const page = sorted.slice(start, start + maxItems);
  const last = page[page.length - 1];
  return start + maxItems < sorted.length && last !== undefined
    ? { items: page, nextMarker: Buffer.from(keyOf(last), 'utf8').toString('base64url') }
    : { items: page };
}

/** Keys compare as strings, except that numeric keys (version numbers) compare as numbers. */
function compare(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return Number(a) - Number(b);
  return a < b ? -1 : a > b ? 1 : 0;
}
