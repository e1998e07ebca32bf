// Lambda's rules for one asynchronous event (LAMBDA-SPEC §8, §6), as pure functions of the
// event's counters, the function's async settings, the attempt's outcome and the time.
// The processor applies the decisions; nothing here does I/O.
import type { InvokeWork } from './work.js';

export interface AsyncSettings {
  /** Retries after a function error: 0–2, Lambda's default 2. */
  maximumRetryAttempts: number;
  /** Events older than this are not run (EventAgeExceeded): 60–21600, default 21600. */
  maximumEventAgeInSeconds: number;
  /** 0 throttles every invoke: events go straight to on-failure/DLQ without retries. */
  reservedConcurrentExecutions?: number;
  onSuccess?: string;
  onFailure?: string;
  deadLetterTarget?: string;
}

export interface RetryPolicy {
  /** Delay before each retry after a function error (Lambda: about 1 min, then about 2 min). */
  functionErrorDelaysMs: readonly number[];
  /** Throttles and system errors back off exponentially from here … */
  backoffInitialMs: number;
  /** … to at most this (Lambda: 1 s to 5 min). */
  backoffMaxMs: number;
  /** Fraction of a backoff removed at random so throttled events do not return in lockstep. */
  jitter: number;
}

export const LAMBDA_RETRY_POLICY: RetryPolicy = {
  functionErrorDelaysMs: [60_000, 120_000],
  backoffInitialMs: 1000,
  backoffMaxMs: 300_000,
  jitter: 0.2,
};

/** What one attempt came to, from the processor's point of view. */
export type AttemptOutcome =
  | { kind: 'response'; statusCode: number; executedVersion: string; payload: Buffer; functionError?: string }
  | { kind: 'throttled'; reason: string; message: string }
  | { kind: 'systemError'; statusCode: number; message: string }
  | { kind: 'functionNotFound'; message: string };

export type ResponseOutcome = Extract<AttemptOutcome, { kind: 'response' }>;
export type FinalCondition = 'Success' | 'RetriesExhausted' | 'EventAgeExceeded';
export type RetryReason = 'functionError' | 'throttled' | 'systemError';

export type Decision =
  | { action: 'run' }
  | { action: 'retry'; reason: RetryReason; dueAt: number; work: InvokeWork }
  | { action: 'finish'; condition: FinalCondition; work: InvokeWork; response?: ResponseOutcome }
  | { action: 'discard'; reason: string };

export function expiresAt(work: InvokeWork, settings: AsyncSettings): number {
  return work.invocation.receivedAt + settings.maximumEventAgeInSeconds * 1000;
}

/** Exponential backoff for the n-th consecutive throttle or system error (n ≥ 1). */
export function backoffMs(n: number, policy: RetryPolicy, random: () => number): number {
  const raw = Math.min(policy.backoffInitialMs * 2 ** Math.max(0, n - 1), policy.backoffMaxMs);
  return Math.round(raw * (1 - policy.jitter * random()));
}

/** Before running an event: is it still wanted? `settings` is undefined when the function is gone. */
export function beforeAttempt(work: InvokeWork, settings: AsyncSettings | undefined, now: number): Decision {
  if (!settings) return { action: 'discard', reason: 'FunctionNotFound' };
  if (now >= expiresAt(work, settings)) return { action: 'finish', condition: 'EventAgeExceeded', work };
  if (settings.reservedConcurrentExecutions === 0) {
    // Reserved concurrency 0 throttles every invoke; Lambda sends the event on without retries.
    const lastError = { statusCode: 429, message: 'Rate Exceeded.' };
    return { action: 'finish', condition: 'RetriesExhausted', work: { ...work, lastError } };
  }
  return { action: 'run' };
}

/** After an attempt: retry (when), finish (how) or discard. */
export function afterAttempt(
  work: InvokeWork,
  outcome: AttemptOutcome,
  settings: AsyncSettings,
  now: number,
  policy: RetryPolicy,
  random: () => number,
): Decision {
  const deadline = expiresAt(work, settings);
  switch (outcome.kind) {
    case 'response': {
      const attempts = work.attempts + 1;
      if (!outcome.functionError) {
        const { lastError: _dropped, ...rest } = work;
        return {
          action: 'finish',
          condition: 'Success',
          work: { ...rest, attempts, systemFailures: 0 },
          response: outcome,
        };
      }
      const lastError = { statusCode: outcome.statusCode, message: errorMessageOf(outcome.payload) };
      const next: InvokeWork = { ...work, attempts, systemFailures: 0, lastError };
      if (attempts > settings.maximumRetryAttempts) {
        return { action: 'finish', condition: 'RetriesExhausted', work: next, response: outcome };
      }
      const delays = policy.functionErrorDelaysMs;
      const delay = delays[Math.min(attempts - 1, delays.length - 1)] ?? 0;
      return { action: 'retry', reason: 'functionError', dueAt: Math.min(now + delay, deadline), work: next };
    }
    case 'throttled':
    case 'systemError': {
      const systemFailures = work.systemFailures + 1;
      const statusCode = outcome.kind === 'throttled' ? 429 : outcome.statusCode;
      const next: InvokeWork = {
        ...work,
        systemFailures,
        lastError: { statusCode, message: outcome.message },
      };
      const dueAt = Math.min(now + backoffMs(systemFailures, policy, random), deadline);
      return { action: 'retry', reason: outcome.kind, dueAt, work: next };
    }
    case 'functionNotFound':
      return { action: 'discard', reason: 'FunctionNotFound' };
  }
}

/** The errorMessage of a Lambda error payload, else the payload text itself. */
export function errorMessageOf(payload: Buffer): string {
  const text = payload.toString('utf8');
  try {
    const parsed = JSON.parse(text) as { errorMessage?: unknown };
    if (parsed && typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // not JSON: the text is the message
  }
  return text;
}
