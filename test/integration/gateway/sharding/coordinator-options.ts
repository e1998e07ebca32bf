// Coordinator settings for the sharding integration tests: short Leases, so takeovers happen
// within seconds on a real kube-apiserver.
import type { CoordinatorOptions } from '../../../../operator/src/gateway/sharding/coordinator.js';
import { systemClock } from '../../../../operator/src/shared/clock.js';
import { createLogger } from '../../../../operator/src/shared/log.js';

export const testLog = createLogger({}, 'error');

export function testCoordinatorOptions(
  namespace: string,
  identity: string,
  shardCount: number,
): CoordinatorOptions {
  return {
    namespace,
    identity,
    address: `http://${identity}.test:8080`,
    shardCount,
    leaseDurationMs: 2000,
    renewIntervalMs: 300,
    fenceAfterMs: 1700,
    handOverHoldMs: 2000,
    clock: systemClock,
    log: testLog,
  };
}
