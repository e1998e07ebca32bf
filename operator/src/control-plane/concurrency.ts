// Reserved concurrency arithmetic for PutFunctionConcurrency and GetAccountSettings, pure:
// a namespace is Lambda's account, its limit and unreserved minimum are the gateway's.
import { InvalidParameterValueException } from '../errors.js';

export interface NamespaceConcurrency {
  namespaceLimit: number;
  unreservedMinimum: number;
}

/** Throws Lambda's error when reserving `requested` for one function leaves too little unreserved. */
export function checkReservation(
  limits: NamespaceConcurrency,
  reservedByOthers: number,
  requested: number,
): void {
  if (limits.namespaceLimit - reservedByOthers - requested < limits.unreservedMinimum) {
    throw new InvalidParameterValueException(
      `Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [${limits.unreservedMinimum}].`,
    );
  }
}

export interface AccountUsageInput {
  reserved: number[];
  codeSizes: number[];
  functionCount: number;
}

export function accountSettings(
  limits: NamespaceConcurrency & { maxZipBytes: number; maxUnzippedBytes: number },
  usage: AccountUsageInput,
) {
  const reserved = usage.reserved.reduce((a, b) => a + b, 0);
  return {
    AccountLimit: {
      TotalCodeSize: 80_530_636_800,
      CodeSizeUnzipped: limits.maxUnzippedBytes,
      CodeSizeZipped: limits.maxZipBytes,
      ConcurrentExecutions: limits.namespaceLimit,
      UnreservedConcurrentExecutions: Math.max(0, limits.namespaceLimit - reserved),
    },
    AccountUsage: {
      TotalCodeSize: usage.codeSizes.reduce((a, b) => a + b, 0),
      FunctionCount: usage.functionCount,
    },
  };
}
