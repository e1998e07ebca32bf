// What an event leaves behind when it is done (LAMBDA-SPEC §8): Lambda's destination record
// for onSuccess/onFailure, and the raw event for the dead-letter target. Pure: the processor
// stores the planned deliveries in the queue and carries them out.
import { functionArn } from '../../api/index.js';
import type { AsyncSettings, FinalCondition, ResponseOutcome } from './decisions.js';
import { parseTarget } from './targets.js';
import type { DeliverWork, DeliveryPurpose, InvokeWork, StoredInvocation } from './work.js';

export interface DestinationRecord {
  version: '1.0';
  timestamp: string;
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: FinalCondition;
    approximateInvokeCount: number;
  };
  requestPayload: unknown;
  responseContext?: { statusCode: number; executedVersion: string; functionError?: string };
  responsePayload?: unknown;
}

export type PlannedDelivery =
  | { to: 'function'; purpose: DeliveryPurpose; invocation: StoredInvocation }
  | { to: 'http'; purpose: DeliveryPurpose; work: DeliverWork }
  | { to: 'invalid'; purpose: DeliveryPurpose; target: string };

export interface FinalOutcome {
  condition: FinalCondition;
  work: InvokeWork;
  response?: ResponseOutcome;
}

const MAX_ERROR_MESSAGE_BYTES = 1024;

function jsonOrText(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The function ARN as Lambda shows it in records: always qualified ($LATEST when unqualified). */
export function qualifiedArn(invocation: StoredInvocation): string {
  return invocation.qualifier === undefined
    ? `${invocation.invokedFunctionArn}:$LATEST`
    : invocation.invokedFunctionArn;
}

export function destinationRecord(outcome: FinalOutcome, now: number): DestinationRecord {
  const { invocation } = outcome.work;
  const record: DestinationRecord = {
    version: '1.0',
    timestamp: new Date(now).toISOString(),
    requestContext: {
      requestId: invocation.requestId,
      functionArn: qualifiedArn(invocation),
      condition: outcome.condition,
      approximateInvokeCount: outcome.work.attempts,
    },
    requestPayload: jsonOrText(invocation.payload),
  };
  // Omitted for EventAgeExceeded, and when the function never answered (reserved concurrency 0).
  if (outcome.condition !== 'EventAgeExceeded' && outcome.response) {
    const { response } = outcome;
    record.responseContext = {
      statusCode: response.statusCode,
      executedVersion: response.executedVersion,
      ...(response.functionError ? { functionError: response.functionError } : {}),
    };
    record.responsePayload = jsonOrText(response.payload.toString('utf8'));
  }
  return record;
}

/** Printable ASCII only, at most 1 KB of the UTF-8 message: it travels in an HTTP header. */
export function headerSafeMessage(message: string): string {
  let bytes = 0;
  let out = '';
  for (const ch of message) {
    bytes += Buffer.byteLength(ch, 'utf8');
    if (bytes > MAX_ERROR_MESSAGE_BYTES) break;
    const code = ch.codePointAt(0) ?? 0;
    out += code >= 0x20 && code < 0x7f ? ch : `\\u{${code.toString(16)}}`;
  }
  return out;
}

function deadLetterHeaders(outcome: FinalOutcome): Record<string, string> {
  const { work } = outcome;
  const message =
    work.lastError?.message ??
    (outcome.condition === 'EventAgeExceeded'
      ? 'Event age exceeded maximumEventAgeInSeconds.'
      : outcome.condition);
  return {
    'content-type': 'application/json',
    'X-Lamina-RequestId': work.invocation.requestId,
    'X-Lamina-ErrorCode': String(work.lastError?.statusCode ?? 0),
    'X-Lamina-ErrorMessage': headerSafeMessage(message),
  };
}

function regionOf(arn: string): string {
  return arn.split(':')[3] ?? 'us-east-1';
}

/**
 * The deliveries a finished event calls for: onSuccess after Success; onFailure and the
 * dead-letter target (both, when both are set, as Lambda does) after a failure.
 */
export function plannedDeliveries(
  outcome: FinalOutcome,
  settings: AsyncSettings,
  now: number,
  newRequestId: () => string,
): PlannedDelivery[] {
  const source = outcome.work.invocation;
  const wanted: Array<[DeliveryPurpose, string | undefined]> =
    outcome.condition === 'Success'
      ? [['onSuccess', settings.onSuccess]]
      : [
          ['onFailure', settings.onFailure],
          ['deadLetter', settings.deadLetterTarget],
        ];
  const record = JSON.stringify(destinationRecord(outcome, now));
  const planned: PlannedDelivery[] = [];
  for (const [purpose, value] of wanted) {
    if (value === undefined) continue;
    // The dead-letter target gets the raw event; destinations get the record.
    const body = purpose === 'deadLetter' ? source.payload : record;
    const target = parseTarget(value);
    if (target.kind === 'function') {
      planned.push({
        to: 'function',
        purpose,
        invocation: {
          requestId: newRequestId(),
          namespace: source.namespace,
          functionName: target.name,
          ...(target.qualifier !== undefined ? { qualifier: target.qualifier } : {}),
          invokedFunctionArn: functionArn(
            regionOf(source.invokedFunctionArn),
            source.namespace,
            target.name,
            target.qualifier,
          ),
          payload: body,
          receivedAt: now,
          ...(source.traceId !== undefined ? { traceId: source.traceId } : {}),
        },
      });
    } else if (target.kind === 'http') {
      planned.push({
        to: 'http',
        purpose,
        work: {
          kind: 'deliver',
          requestId: source.requestId,
          namespace: source.namespace,
          functionName: source.functionName,
          purpose,
          url: target.url,
          body,
          headers:
            purpose === 'deadLetter' ? deadLetterHeaders(outcome) : { 'content-type': 'application/json' },
          createdAt: now,
          failures: 0,
        },
      });
    } else {
      planned.push({ to: 'invalid', purpose, target: value });
    }
  }
  return planned;
}
