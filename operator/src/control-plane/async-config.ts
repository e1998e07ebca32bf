// Event invoke configuration and dead-letter targets, pure: Lambda's destination ARNs ↔
// Lamina's async targets (`function:<name>[:<qualifier>]` in the same namespace, or an
// http(s) URL). Queues, topics, buses and buckets have no Lamina counterpart and are refused.
import { limits, type AsyncInvokeConfig } from '../api/index.js';
import { ValidationException } from '../errors.js';
import { functionArn } from './arns.js';
import { lambdaTimestamp } from './configuration.js';
import { destinationOf, targetOf } from './destinations.js';

export interface EventInvokeConfigRequest {
  MaximumRetryAttempts?: number | undefined;
  MaximumEventAgeInSeconds?: number | undefined;
  DestinationConfig?:
    | { OnSuccess?: { Destination?: string | undefined }; OnFailure?: { Destination?: string | undefined } }
    | undefined;
}

/** Put (replace) or Update (merge onto `current`) → the Function's spec.asyncInvoke. */
export function asyncInvokeOf(
  request: EventInvokeConfigRequest,
  namespace: string,
  current?: AsyncInvokeConfig,
): AsyncInvokeConfig {
  const retries =
    request.MaximumRetryAttempts ?? current?.maximumRetryAttempts ?? limits.maxRetryAttempts.default;
  const age =
    request.MaximumEventAgeInSeconds ??
    current?.maximumEventAgeInSeconds ??
    limits.maxEventAgeSeconds.default;
  if (retries < limits.maxRetryAttempts.min || retries > limits.maxRetryAttempts.max) {
    throw new ValidationException(
      `1 validation error detected: Value '${retries}' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to ${limits.maxRetryAttempts.max}`,
    );
  }
  if (age < limits.maxEventAgeSeconds.min || age > limits.maxEventAgeSeconds.max) {
    throw new ValidationException(
      `1 validation error detected: Value '${age}' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value between ${limits.maxEventAgeSeconds.min} and ${limits.maxEventAgeSeconds.max}`,
    );
  }
  const pick = (side: 'OnSuccess' | 'OnFailure', old: { destination: string } | undefined) => {
    const given = request.DestinationConfig?.[side];
    if (request.DestinationConfig === undefined || given === undefined) return old;
    return given.Destination ? { destination: targetOf(given.Destination, namespace) } : undefined;
  };
  const onSuccess = pick('OnSuccess', current?.destinationConfig?.onSuccess);
  const onFailure = pick('OnFailure', current?.destinationConfig?.onFailure);
  return {
    maximumRetryAttempts: retries,
    maximumEventAgeInSeconds: age,
    ...((onSuccess || onFailure) && {
      destinationConfig: { ...(onSuccess && { onSuccess }), ...(onFailure && { onFailure }) },
    }),
  };
}

export function eventInvokeConfigJson(
  config: AsyncInvokeConfig,
  region: string,
  namespace: string,
  name: string,
  lastModified: string | undefined,
) {
  const d = config.destinationConfig;
  const side = (t: { destination: string } | undefined) =>
    t ? { Destination: destinationOf(t.destination, region, namespace) } : {};
  return {
    LastModified: Date.parse(lambdaTimestamp(lastModified)?.replace('+0000', 'Z') ?? '') / 1000 || 0,
    FunctionArn: functionArn(region, namespace, name),
    MaximumRetryAttempts: config.maximumRetryAttempts,
    MaximumEventAgeInSeconds: config.maximumEventAgeInSeconds,
    DestinationConfig: { OnSuccess: side(d?.onSuccess), OnFailure: side(d?.onFailure) },
  };
}
