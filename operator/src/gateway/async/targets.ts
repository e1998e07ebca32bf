// Where async results go: `function:<name>[:<qualifier>]` (a function in the source's
// namespace, invoked asynchronously through the queue) or an http(s) URL (the record POSTed
// as JSON). The same forms serve destinations and deadLetterConfig.targetArn.
export type Target =
  | { kind: 'function'; name: string; qualifier?: string }
  | { kind: 'http'; url: string }
  | { kind: 'invalid'; value: string };

const FUNCTION_TARGET = /^function:([a-zA-Z0-9-_.]{1,64})(?::([a-zA-Z0-9-_$]{1,128}))?$/;

export function parseTarget(value: string): Target {
  const fn = FUNCTION_TARGET.exec(value);
  if (fn?.[1]) {
    // $LATEST is the unqualified function, as in Invoke.
    const qualifier = fn[2] === '$LATEST' ? undefined : fn[2];
    return qualifier !== undefined
      ? { kind: 'function', name: fn[1], qualifier }
      : { kind: 'function', name: fn[1] };
  }
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return { kind: 'http', url: url.toString() };
  } catch {
    // not a URL
  }
  return { kind: 'invalid', value };
}
