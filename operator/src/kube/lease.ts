// Leader election on a coordination.k8s.io/v1 Lease, so two operator replicas never both act.
//
// Each candidate polls the Lease every `retryPeriodMs`:
//  - nobody holds it (missing, or holder released it)   → take it;
//  - we hold it                                          → renew it (renewTime = now);
//  - someone else holds it and we have seen no renewal for `leaseDurationMs` of OUR clock
//                                                        → take it over.
// Expiry is judged by when this candidate last saw the record change, never by comparing
// the holder's timestamps with our clock, so clock skew between nodes cannot cause two
// leaders. Every write carries the resourceVersion it was based on: of two candidates racing
// for an expired lease, the API server lets exactly one win. A leader that cannot renew within
// `renewDeadlineMs` (< leaseDurationMs) steps down before anyone else may take over.
import { CoordinationV1Api, type KubeConfig, type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import type { Clock, Logger } from '../shared/index.js';
import { isConflict, isNotFound } from './errors.js';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  clock: Clock;
  log: Logger;
  onStartedLeading(): void;
  onStoppedLeading(): void;
}

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private leading = false;
  private stopped = true;
  private timer: { cancel(): void } | undefined;
  private lastRenewal = 0;
  private observed: { record: string; at: number } | undefined;

  constructor(
    kc: KubeConfig,
    private readonly options: LeaderElectionOptions,
  ) {
    this.api = kc.makeApiClient(CoordinationV1Api);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.stopped = false;
    void this.tick();
  }

  /** Stops campaigning; with `release`, hands the lease back so another replica takes over at once. */
  async stop(release = true): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    if (this.leading && release) await this.release().catch(() => undefined);
    this.setLeading(false);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const { clock, log, renewDeadlineMs, retryPeriodMs } = this.options;
    try {
      const held = await this.tryAcquireOrRenew();
      if (held) this.lastRenewal = clock.now();
      if (held) this.setLeading(true);
      else if (this.leading) this.setLeading(false);
    } catch (err) {
      log.warn('lease update failed', { lease: this.options.name, error: String(err) });
      if (this.leading && clock.now() - this.lastRenewal > renewDeadlineMs) this.setLeading(false);
    }
    if (!this.stopped) this.timer = clock.setTimeout(() => void this.tick(), retryPeriodMs);
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.options.log.info(leading ? 'became leader' : 'stopped leading', {
      lease: `${this.options.namespace}/${this.options.name}`,
      identity: this.options.identity,
    });
    if (leading) this.options.onStartedLeading();
    else this.options.onStoppedLeading();
  }

  private now(): V1MicroTime {
    return new V1MicroTime(this.options.clock.now());
  }

  /** True when we hold the lease after this round. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity, leaseDurationMs, clock } = this.options;
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      return this.write('create', {
        metadata: { name, namespace },
        spec: this.spec({ acquireTime: this.now(), leaseTransitions: 0 }),
      });
    }
    const spec = lease.spec ?? {};
    const record = `${spec.holderIdentity ?? ''}|${String(spec.renewTime ?? '')}|${lease.metadata?.resourceVersion ?? ''}`;
    if (this.observed?.record !== record) this.observed = { record, at: clock.now() };

    if (spec.holderIdentity === identity) {
      return this.write('replace', { ...lease, spec: { ...spec, ...this.spec({}) } });
    }
    const duration = (spec.leaseDurationSeconds ?? leaseDurationMs / 1000) * 1000;
    const expired = !spec.holderIdentity || clock.now() - this.observed.at >= duration;
    if (!expired) return false;
    return this.write('replace', {
      ...lease,
      spec: this.spec({ acquireTime: this.now(), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }),
    });
  }

  private spec(extra: Partial<NonNullable<V1Lease['spec']>>): NonNullable<V1Lease['spec']> {
    return {
      holderIdentity: this.options.identity,
      leaseDurationSeconds: Math.ceil(this.options.leaseDurationMs / 1000),
      renewTime: this.now(),
      ...extra,
    };
  }

  private async write(mode: 'create' | 'replace', body: V1Lease): Promise<boolean> {
    const { namespace, name } = this.options;
    try {
      if (mode === 'create') await this.api.createNamespacedLease({ namespace, body });
      else await this.api.replaceNamespacedLease({ name, namespace, body });
      return true;
    } catch (err) {
      if (isConflict(err)) return false; // another candidate wrote first
      throw err;
    }
  }

  private async release(): Promise<void> {
    const { namespace, name, identity } = this.options;
    const lease = await this.api.readNamespacedLease({ name, namespace });
    if (lease.spec?.holderIdentity !== identity) return;
    await this.api.replaceNamespacedLease({
      name,
      namespace,
      body: {
        ...lease,
        spec: { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: this.now() },
      },
    });
  }
}
