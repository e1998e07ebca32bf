// Shard ownership among gateway replicas, on coordination.k8s.io/v1 Leases in the release's
// namespace (docs/high-availability.md):
//
//   lamina-gateway-member-<identity>  one per replica, renewed every `renewIntervalMs`;
//                                     its annotation carries the replica's address
//   lamina-gateway-shard-<n>          one per shard; holderIdentity = the replica serving it
//
// Every round a replica renews its member Lease, lists all of them (one LIST), and applies
// ring.ts's plan: it takes shards that are its own by the ring and free (released, or held by a
// member nobody has seen renew for a lease duration), and hands over shards that now belong to
// another live member — it holds new work for them, lets what is in flight finish, then
// releases the Lease; the new owner takes it on its next round. Every write carries the
// resourceVersion it read, so two replicas racing for a shard cannot both win.
//
// Fencing: a replica that has not renewed its member Lease for `fenceAfterMs` (< the lease
// duration) stops serving every shard at once and says so in /healthz; the others take its
// shards only after they have seen no renewal for the whole lease duration on their own clocks,
// counted up to when the LIST that shows it was sent.
import { CoordinationV1Api, type KubeConfig, type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import { isConflict, isNotFound } from '../../kube/index.js';
import type { Clock, Logger } from '../../shared/index.js';
import { liveMembers, type MemberObservation, planShards, shardOf } from './ring.js';

export const LEASE_LABEL = 'lamina.dev/gateway-lease';
export const ADDRESS_ANNOTATION = 'lamina.dev/address';
/** On a member Lease: the replica is stopping; the others plan without it at once. */
export const LEAVING_ANNOTATION = 'lamina.dev/leaving';

export interface CoordinatorOptions {
  namespace: string;
  /** This replica (its pod name): unique among live replicas. */
  identity: string;
  /** Where other replicas reach this one (http://<pod IP>:<port>). */
  address: string;
  shardCount: number;
  leaseDurationMs: number;
  renewIntervalMs: number;
  /** Stop serving when the member Lease has not been renewed for this long (< leaseDurationMs). */
  fenceAfterMs: number;
  /** New work for a shard being handed over waits at most this long before it is served here. */
  handOverHoldMs: number;
  clock: Clock;
  log: Logger;
}

export interface CoordinatorHooks {
  /** Shards this replica now serves: adopt their environments. */
  acquired(shards: number[]): void;
  /** Shards this replica no longer serves: forget (never destroy) their environments. */
  released(shards: number[]): void;
  /**
   * A round's LIST: the members alive then (leaving ones too), and the Lease labelled `budget`
   * (the replicas' grants of unreserved concurrency), if any.
   */
  observed?(alive: ReadonlySet<string>, budget: V1Lease | undefined): void;
  /**
   * Invocations of a shard's functions running through this replica now; not those still
   * waiting for an environment (released() sends them after the shard).
   */
  inFlight(shard: number): number;
  /** Requests on this replica waiting for a shard to have an owner. */
  waiting(): number;
  /** Where shards are served may have changed: requests waiting for one look again. */
  routesChanged(): void;
}

export type ShardRoute =
  { kind: 'local' } | { kind: 'remote'; owner: string; address: string } | { kind: 'wait' };

export interface CoordinatorStatus {
  identity: string;
  /** The member Lease was renewed recently enough to serve. */
  serving: boolean;
  liveMembers: string[];
  ownedShards: number;
  drainingShards: number;
  lastRenewalAgeMs: number | undefined;
}

interface Held {
  holder: string;
  lease?: V1Lease;
}

const memberLease = (identity: string) => `lamina-gateway-member-${identity}`;
const shardLease = (shard: number) => `lamina-gateway-shard-${shard}`;
const SHARD_PREFIX = 'lamina-gateway-shard-';

export class ShardCoordinator {
  private readonly api: CoordinationV1Api;
  private readonly owned = new Set<number>();
  /** Shards being handed over, with when the hand-over began. */
  private readonly draining = new Map<number, number>();
  private shards = new Map<number, Held>();
  private readonly observations = new Map<string, MemberObservation>();
  private readonly addresses = new Map<string, string>();
  private live: string[] = [];
  private lastRenewal: number | undefined;
  /** The member Lease as this replica last wrote it: the next renewal is one conditional PUT. */
  private member: V1Lease | undefined;
  /** How late the renewal timer fired last time, and how long the last renewal's write took. */
  private renewalTimerLateMs = 0;
  private renewalWriteMs = 0;
  private budget: V1Lease | undefined;
  private leaving = false;
  private stopped = false;
  /** Left the ring, still reading where shards are served (for the requests it still gets). */
  private following = false;
  private timer: { cancel(): void } | undefined;
  private renewTimer: { cancel(): void } | undefined;
  private round: Promise<void> | undefined;
  private renewing: Promise<void> | undefined;

  constructor(
    kc: KubeConfig,
    private readonly options: CoordinatorOptions,
    private readonly hooks: CoordinatorHooks,
  ) {
    this.api = kc.makeApiClient(CoordinationV1Api);
  }

  /** Runs the first round (so a replica that can take shards has them) and keeps going. */
  async start(): Promise<void> {
    await this.renew();
    await this.runRound();
    this.scheduleRenewal();
    this.schedule();
  }

  shardOf(functionName: string): number {
    return shardOf(functionName, this.options.shardCount);
  }

  /** Where an invocation of `functionName` runs now. */
  route(functionName: string): ShardRoute {
    const shard = this.shardOf(functionName);
    if (this.owned.has(shard)) {
      if (!this.fresh(this.options.clock.now())) return { kind: 'wait' }; // fenced
      const since = this.draining.get(shard);
      // New work waits while the work in flight finishes (always when leaving; else briefly,
      // so a shard whose invocations never pause is still served).
      if (
        since !== undefined &&
        (this.leaving || this.options.clock.now() - since < this.options.handOverHoldMs)
      ) {
        return { kind: 'wait' };
      }
      return { kind: 'local' };
    }
    const holder = this.shards.get(shard)?.holder ?? '';
    const address = this.addresses.get(holder);
    if (holder && holder !== this.options.identity && address && this.live.includes(holder)) {
      return { kind: 'remote', owner: holder, address };
    }
    return { kind: 'wait' };
  }

  /** Whether this replica serves `functionName`'s shard now (the forward route's check). */
  serves(functionName: string): boolean {
    return this.ownsShard(this.shardOf(functionName));
  }

  /**
   * Whether this replica holds `functionName`'s shard — its environments are this replica's to
   * track — even while it cannot serve for a moment (fenced).
   */
  holds(functionName: string): boolean {
    return this.owned.has(this.shardOf(functionName));
  }

  ownsShard(shard: number): boolean {
    return this.owned.has(shard) && this.fresh(this.options.clock.now());
  }

  /** A local invocation of a shard being handed over ended: release it once nothing is left. */
  settled(shard: number): void {
    if (this.draining.has(shard) && this.hooks.inFlight(shard) === 0) void this.releaseShard(shard);
  }

  /** Something changed that the next round should see now (a forward found no owner). */
  nudge(): void {
    if (this.stopped || this.round) return;
    this.timer?.cancel();
    void this.runRound().finally(() => this.schedule());
  }

  status(): CoordinatorStatus {
    const now = this.options.clock.now();
    return {
      identity: this.options.identity,
      serving: this.fresh(now),
      liveMembers: this.live,
      ownedShards: this.owned.size,
      drainingShards: this.draining.size,
      lastRenewalAgeMs: this.lastRenewal === undefined ? undefined : now - this.lastRenewal,
    };
  }

  /**
   * Leaves the ring for a clean shutdown: stops counting itself live, hands every shard over
   * (waiting for their work in flight, at most `timeoutMs`), then deletes its member Lease.
   */
  async leave(timeoutMs: number): Promise<void> {
    this.leaving = true;
    await this.renewing; // a renewal begun before: the next one says "leaving"
    await this.renew(); // tells the others, so they take each shard as soon as it is released
    const deadline = this.options.clock.now() + timeoutMs;
    // Until every shard is handed over, and the requests held here meanwhile have seen where
    // their shard went (they are forwarded there).
    while ((this.owned.size > 0 || this.hooks.waiting() > 0) && this.options.clock.now() < deadline) {
      await this.runRound();
      await sleep(this.options.clock, 100);
    }
    this.stop();
    await this.releaseRemaining();
    await this.api
      .deleteNamespacedLease({ name: memberLease(this.options.identity), namespace: this.options.namespace })
      .catch(() => undefined);
    this.follow();
  }

  /**
   * After leaving, until stop(): rounds that only read who serves what, so the requests still
   * arriving on this replica's open connections (and those it held) are forwarded to the
   * current owners — shards keep moving while the other replicas roll too.
   */
  private follow(): void {
    const { clock, renewIntervalMs } = this.options;
    this.following = true;
    const next = () => {
      if (!this.following) return;
      this.timer = clock.setTimeout(() => void this.followOnce().finally(next), renewIntervalMs);
    };
    next();
  }

  private async followOnce(): Promise<void> {
    const { clock, leaseDurationMs, log } = this.options;
    const listed = clock.now();
    try {
      await this.observe();
    } catch (err) {
      log.warn('shard round failed', { error: String(err) });
      return;
    }
    this.live = this.ring(new Set(liveMembers(this.observations, listed, leaseDurationMs)));
    this.hooks.routesChanged();
  }

  /** The ring: live members that are not leaving (this replica unless it is), sorted. */
  private ring(alive: ReadonlySet<string>): string[] {
    const { identity } = this.options;
    const live = [...alive].filter((m) =>
      m === identity ? !this.leaving : !this.observations.get(m)?.leaving,
    );
    if (!this.leaving && !live.includes(identity)) live.push(identity);
    return live.sort();
  }

  /**
   * Frees every shard Lease that still names this replica as it leaves — those it could not
   * hand over in time, and those it stopped serving when fenced — so the others take them on
   * their next round. Each write carries the version last read: one another replica took
   * meanwhile stays theirs.
   */
  private async releaseRemaining(): Promise<void> {
    const { identity, log } = this.options;
    const held = [...this.shards].filter(([, h]) => h.holder === identity).map(([shard]) => shard);
    this.owned.clear();
    this.draining.clear();
    if (held.length === 0) return;
    this.hooks.released(held);
    const freed = await Promise.all(held.map((shard) => this.writeHolder(shard, '').catch(() => false)));
    log.info('shards released on leaving', { shards: held.filter((_, i) => freed[i]) });
  }

  stop(): void {
    this.stopped = true;
    this.following = false;
    this.timer?.cancel();
    this.renewTimer?.cancel();
  }

  /**
   * Renewal runs on its own clock, never behind a round's shard writes: a slow API server
   * delays hand-overs, not the proof that this replica is alive.
   */
  private scheduleRenewal(): void {
    if (this.stopped) return;
    const due = this.options.clock.now() + this.options.renewIntervalMs;
    this.renewTimer = this.options.clock.setTimeout(() => {
      this.renewalTimerLateMs = this.options.clock.now() - due;
      void this.renew().finally(() => this.scheduleRenewal());
    }, this.options.renewIntervalMs);
  }

  private renew(): Promise<void> {
    this.renewing ??= (async () => {
      const started = this.options.clock.now();
      // Past the fence already (this process stalled, or the last renewals failed): let go of
      // the shards before renewing, so that a renewal that succeeds now cannot make shards
      // another replica took meanwhile look served here again; the next round takes back
      // only those the Leases still say are this replica's.
      if (!this.fresh(started)) this.fence();
      try {
        await this.renewMember();
        this.lastRenewal = started;
        this.renewalWriteMs = this.options.clock.now() - started;
        if (this.renewalWriteMs + this.renewalTimerLateMs > this.options.renewIntervalMs) {
          this.options.log.warn('member lease renewal late', {
            timerLateMs: this.renewalTimerLateMs,
            writeMs: this.renewalWriteMs,
          });
        }
      } catch (err) {
        this.options.log.warn('member lease renewal failed', { error: String(err) });
      }
      if (!this.fresh(this.options.clock.now())) this.fence();
    })().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.options.clock.setTimeout(() => {
      void this.runRound().finally(() => this.schedule());
    }, this.options.renewIntervalMs);
  }

  private runRound(): Promise<void> {
    this.round ??= this.roundOnce()
      .catch((err: unknown) => this.options.log.warn('shard round failed', { error: String(err) }))
      .finally(() => {
        this.round = undefined;
        this.hooks.routesChanged();
      });
    return this.round;
  }

  private fresh(now: number): boolean {
    return this.lastRenewal !== undefined && now - this.lastRenewal < this.options.fenceAfterMs;
  }

  private async roundOnce(): Promise<void> {
    const { clock, log, identity, leaseDurationMs, shardCount } = this.options;
    if (!this.fresh(clock.now())) return; // fenced until a renewal succeeds
    const listed = clock.now();
    await this.observe();
    const now = clock.now();
    // Silence is judged as of when the LIST was sent, not when it answered: the answer shows
    // every renewal made before it was sent, so a member it shows silent for a lease duration
    // until then was silent that long — however slowly the API server answered.
    const alive = new Set(liveMembers(this.observations, listed, leaseDurationMs));
    const live = this.ring(alive);
    this.live = live;

    // What the Leases say this replica holds (after a restart under the same identity, too).
    const lost: number[] = [];
    for (const shard of this.owned) {
      if (this.shards.get(shard)?.holder !== identity) lost.push(shard);
    }
    if (lost.length > 0) {
      for (const shard of lost) {
        this.owned.delete(shard);
        this.draining.delete(shard);
      }
      log.warn('shards taken over by another replica', { shards: lost });
      this.hooks.released(lost);
    }
    const adopted: number[] = [];
    for (const [shard, held] of this.shards) {
      if (held.holder === identity && !this.owned.has(shard) && !this.leaving) {
        this.owned.add(shard);
        adopted.push(shard);
      }
    }

    const plan = planShards(identity, live, this.shards, shardCount, alive);
    if (!this.leaving) {
      const won = await Promise.all(plan.acquire.map((shard) => this.writeHolder(shard, identity)));
      plan.acquire.forEach((shard, i) => {
        if (won[i] && this.fresh(clock.now())) {
          this.owned.add(shard);
          adopted.push(shard);
        }
      });
    }
    if (adopted.length > 0) {
      log.info('shards acquired', { shards: adopted, members: live });
      this.hooks.acquired(adopted);
    }
    for (const shard of plan.handOver) if (!this.draining.has(shard)) this.draining.set(shard, now);
    await Promise.all(
      plan.handOver
        .filter((shard) => this.hooks.inFlight(shard) === 0)
        .map((shard) => this.releaseShard(shard)),
    );
    // A hand-over the ring no longer asks for (the other member left again): keep the shard.
    for (const shard of this.draining.keys()) {
      if (!plan.handOver.includes(shard) && this.owned.has(shard)) this.draining.delete(shard);
    }
    this.hooks.observed?.(alive, this.budget);
  }

  /** Lost contact with the API server for too long: serve nothing until a renewal succeeds. */
  private fence(): void {
    if (this.owned.size === 0) return;
    const shards = [...this.owned];
    this.owned.clear();
    this.draining.clear();
    this.options.log.error('member lease not renewed: serving no shards until it is', {
      lastRenewalAgeMs:
        this.lastRenewal === undefined ? undefined : this.options.clock.now() - this.lastRenewal,
      timerLateMs: this.renewalTimerLateMs,
      lastWriteMs: this.renewalWriteMs,
    });
    this.hooks.released(shards);
    this.hooks.routesChanged();
  }

  private async releaseShard(shard: number): Promise<void> {
    if (!this.owned.has(shard)) return;
    // Stop serving first: nothing new starts here once the Lease may go to another replica.
    this.owned.delete(shard);
    this.draining.delete(shard);
    this.hooks.released([shard]);
    if (await this.writeHolder(shard, '')) {
      this.options.log.info('shard handed over', { shard });
    }
  }

  /**
   * One conditional PUT on the member Lease as this replica last wrote it (no read first); a
   * conflict (someone else wrote it meanwhile) or a first renewal reads it, then writes.
   */
  private async renewMember(): Promise<void> {
    const { namespace, identity, address, leaseDurationMs } = this.options;
    const name = memberLease(identity);
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
      renewTime: new V1MicroTime(this.options.clock.now()),
    };
    const metadata = {
      name,
      namespace,
      labels: { [LEASE_LABEL]: 'member' },
      annotations: { [ADDRESS_ANNOTATION]: address, [LEAVING_ANNOTATION]: String(this.leaving) },
    };
    const write = (current: V1Lease) =>
      this.api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          ...current,
          metadata: { ...current.metadata, ...metadata },
          spec: { ...current.spec, ...spec },
        },
      });
    if (this.member) {
      try {
        this.member = await write(this.member);
        return;
      } catch (err) {
        this.member = undefined;
        if (!isConflict(err) && !isNotFound(err)) throw err;
      }
    }
    try {
      this.member = await write(await this.api.readNamespacedLease({ name, namespace }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      this.member = await this.api.createNamespacedLease({ namespace, body: { metadata, spec } });
    }
  }

  /** One LIST of every gateway Lease: members seen renewing, and who holds each shard. */
  private async observe(): Promise<void> {
    const { namespace, clock } = this.options;
    const list = await this.api.listNamespacedLease({ namespace, labelSelector: LEASE_LABEL });
    const now = clock.now();
    const shards = new Map<number, Held>();
    const seen = new Set<string>();
    this.budget = undefined;
    for (const lease of list.items) {
      const name = lease.metadata?.name ?? '';
      const kind = lease.metadata?.labels?.[LEASE_LABEL];
      if (kind === 'member') {
        const member = lease.spec?.holderIdentity;
        if (!member) continue;
        // A stopping member gets no shards, but keeps those it holds until it releases them.
        const leaving = lease.metadata?.annotations?.[LEAVING_ANNOTATION] === 'true';
        seen.add(member);
        const renewTime = String(lease.spec?.renewTime ?? '');
        const previous = this.observations.get(member);
        if (previous?.renewTime !== renewTime)
          this.observations.set(member, { renewTime, observedAt: now, leaving });
        else previous.leaving = leaving;
        const address = lease.metadata?.annotations?.[ADDRESS_ANNOTATION];
        if (address) this.addresses.set(member, address);
      } else if (kind === 'shard' && name.startsWith(SHARD_PREFIX)) {
        const shard = Number(name.slice(SHARD_PREFIX.length));
        if (Number.isInteger(shard)) shards.set(shard, { holder: lease.spec?.holderIdentity ?? '', lease });
      } else if (kind === 'budget') {
        this.budget = lease;
      }
    }
    // A member whose Lease was deleted left cleanly: it is gone at once.
    for (const member of [...this.observations.keys()]) {
      if (!seen.has(member)) {
        this.observations.delete(member);
        this.addresses.delete(member);
      }
    }
    this.shards = shards;
  }

  /** Conditional write of a shard's holder ('' releases it); false when another write won. */
  private async writeHolder(shard: number, holder: string): Promise<boolean> {
    const { namespace, leaseDurationMs, clock } = this.options;
    const name = shardLease(shard);
    const current = this.shards.get(shard)?.lease;
    const spec = {
      ...current?.spec,
      holderIdentity: holder || undefined,
      leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
      renewTime: new V1MicroTime(clock.now()),
      ...(holder
        ? {
            acquireTime: new V1MicroTime(clock.now()),
            leaseTransitions: (current?.spec?.leaseTransitions ?? 0) + 1,
          }
        : {}),
    };
    try {
      const written = current
        ? await this.api.replaceNamespacedLease({ name, namespace, body: { ...current, spec } })
        : await this.api.createNamespacedLease({
            namespace,
            body: { metadata: { name, namespace, labels: { [LEASE_LABEL]: 'shard' } }, spec },
          });
      this.shards.set(shard, { holder, lease: written });
      return true;
    } catch (err) {
      if (isConflict(err)) return false; // another write won (409 Conflict or AlreadyExists)
      throw err;
    }
  }
}

function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}
