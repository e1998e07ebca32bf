// Async destinations and dead-letter targets, pure: Lambda's destination ARNs ↔ Lamina's
// async targets (`function:<name>[:<qualifier>]` in the same namespace, or an http(s) URL).
// Queues, topics, buses and buckets have no Lamina counterpart and are refused.
import { InvalidParameterValueException } from '../errors.js';
import { functionArn } from './arns.js';

const FUNCTION_DESTINATION =
  /^arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{2}(-gov)?-[a-z]+-\d:([a-z0-9]([-a-z0-9]*[a-z0-9])?):function:([a-zA-Z0-9-_.]+)(:([a-zA-Z0-9-_$]+))?$/;

/** A Lambda destination (function ARN, or Lamina's http(s) URL) → Lamina's target form. */
export function targetOf(destination: string, namespace: string): string {
  if (
    /^https?:\/\/\S+$/.test(destination) ||
    /^function:[a-zA-Z0-9-_.]+(:[a-zA-Z0-9-_$]+)?$/.test(destination)
  ) {
    return destination;
  }
  const m = FUNCTION_DESTINATION.exec(destination);
  if (m && m[3] === namespace) return `function:${m[5]}${m[7] ? `:${m[7]}` : ''}`;
  throw new InvalidParameterValueException(
    `Destination ${destination} is not supported by Lamina: use the ARN of a function in namespace ${namespace}, or an http(s) URL.`,
  );
}

/** Lamina's target form → what Lambda clients expect (a function ARN, or the URL). */
export function destinationOf(target: string, region: string, namespace: string): string {
  const m = /^function:([a-zA-Z0-9-_.]+)(?::([a-zA-Z0-9-_$]+))?$/.exec(target);
  return m ? functionArn(region, namespace, m[1]!, m[2]) : target;
}
