// Lambda's filter criteria (the EventBridge pattern language): a record is delivered when
// any of the mapping's patterns matches it, and is dropped (acked without invoking) when
// none does. A pattern is a JSON object whose keys follow the record's shape; at a leaf, an
// array of matchers of which one must match:
//
//   "Equals":            ["a", 1, true, null]       "Begins with":  [{"prefix": "a"}]
//   "Ends with":         [{"suffix": "z"}]          "Ignore case":  [{"equals-ignore-case": "A"}]
//   "Not":               [{"anything-but": ["a"]}]  also {"anything-but": {"prefix": "a"}}
//   "Numeric":           [{"numeric": [">", 0, "<=", 5]}]
//   "Exists":            [{"exists": true}]         "Does not exist": [{"exists": false}]
//   "Or" across keys:    {"$or": [{...}, {...}]}
//
// A leaf that is an array in the record matches when any of its elements matches. Pure.

export type FilterPattern = Record<string, unknown>;

export class FilterPatternError extends Error {}

/** Parses one `filterCriteria.filters[].pattern`; throws FilterPatternError when it is not a pattern. */
export function parsePattern(text: string): FilterPattern {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new FilterPatternError(`filter pattern is not JSON: ${text}`);
  }
  if (!isObject(parsed)) throw new FilterPatternError('a filter pattern must be a JSON object');
  check(parsed, '');
  return parsed;
}

function check(pattern: Record<string, unknown>, path: string): void {
  for (const [key, value] of Object.entries(pattern)) {
    const at = path ? `${path}.${key}` : key;
    if (key === '$or') {
      if (!Array.isArray(value) || value.length < 2 || !value.every(isObject))
        throw new FilterPatternError(`${at} must be an array of at least two patterns`);
      for (const sub of value) check(sub, at);
    } else if (Array.isArray(value)) {
      for (const matcher of value) checkMatcher(matcher, at);
    } else if (isObject(value)) {
      check(value, at);
    } else {
      throw new FilterPatternError(`${at} must be an object or an array of matchers`);
    }
  }
}

const OPERATORS = ['prefix', 'suffix', 'equals-ignore-case', 'anything-but', 'numeric', 'exists'];

function checkMatcher(matcher: unknown, at: string): void {
  if (matcher === null || ['string', 'number', 'boolean'].includes(typeof matcher)) return;
  if (!isObject(matcher))
    throw new FilterPatternError(`${at}: unsupported matcher ${JSON.stringify(matcher)}`);
  const keys = Object.keys(matcher);
  if (keys.length !== 1 || !OPERATORS.includes(keys[0] ?? ''))
    throw new FilterPatternError(`${at}: unsupported matcher ${JSON.stringify(matcher)}`);
  if (matcher.numeric !== undefined) numericTests(matcher.numeric, at);
}

/** Whether any of the patterns matches the record (no patterns: every record matches). */
export function matchesAny(patterns: readonly FilterPattern[], record: unknown): boolean {
  return patterns.length === 0 || patterns.some((p) => matches(p, record));
}

export function matches(pattern: FilterPattern, value: unknown): boolean {
  return Object.entries(pattern).every(([key, expected]) => {
    if (key === '$or') return (expected as FilterPattern[]).some((sub) => matches(sub, value));
    const present = isObject(value) && Object.prototype.hasOwnProperty.call(value, key);
    const actual = present ? (value as Record<string, unknown>)[key] : undefined;
    if (Array.isArray(expected)) return leafMatches(expected, present, actual);
    return present && matches(expected as FilterPattern, actual);
  });
}

function leafMatches(matchers: unknown[], present: boolean, actual: unknown): boolean {
  const values = Array.isArray(actual) ? actual : [actual];
  return matchers.some((m) => {
    if (isObject(m) && 'exists' in m) return m.exists === present;
    if (!present) return false;
    return values.some((v) => matcherMatches(m, v));
  });
}

function matcherMatches(matcher: unknown, value: unknown): boolean {
  if (!isObject(matcher)) return matcher === value;
  if (typeof matcher.prefix === 'string')
    return typeof value === 'string' && value.startsWith(matcher.prefix);
  if (typeof matcher.suffix === 'string') return typeof value === 'string' && value.endsWith(matcher.suffix);
  if (typeof matcher['equals-ignore-case'] === 'string')
    return typeof value === 'string' && value.toLowerCase() === matcher['equals-ignore-case'].toLowerCase();
  if ('anything-but' in matcher) {
    const but = matcher['anything-but'];
    if (isObject(but)) return !matcherMatches(but, value);
    return !(Array.isArray(but) ? but : [but]).some((b) => b === value);
  }
  if ('numeric' in matcher)
    return typeof value === 'number' && numericTests(matcher.numeric, '').every((test) => test(value));
  return false;
}

const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  '=': (a, b) => a === b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

function numericTests(spec: unknown, at: string): ((n: number) => boolean)[] {
  if (!Array.isArray(spec) || spec.length === 0 || spec.length % 2 !== 0 || spec.length > 4)
    throw new FilterPatternError(`${at}: numeric takes one or two [operator, number] pairs`);
  const tests: ((n: number) => boolean)[] = [];
  for (let i = 0; i < spec.length; i += 2) {
    const compare = COMPARE[String(spec[i])];
    const bound = spec[i + 1];
    if (!compare || typeof bound !== 'number')
      throw new FilterPatternError(
        `${at}: numeric operator ${String(spec[i])} ${String(bound)} is not valid`,
      );
    tests.push((n) => compare(n, bound));
  }
  return tests;
}

/** A record's payload as filters see it: parsed JSON when it is JSON, else the text. */
export function payloadView(data: Buffer): unknown {
  const text = data.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
