// Keeps the concurrency ledger and the environment pool in step with the catalog:
// reservations, provisioned concurrency per version/alias, environments of old
// configurations; and reports provisioned ready-vs-requested on Version/Alias status.
import type { Alias, LaminaFunction, Version } from '../../api/index.js';
import { snapshotOfLatest } from '../../api/index.js';
import type { Logger } from '../../shared/index.js';
import { type FunctionCatalog, versionNumber } from '../catalog/catalog.js';
import type { EnvironmentPool, ProvisionedTarget } from '../environments/environment-pool.js';
import { type EnvironmentSettings, environmentSpec } from '../environments/environment-spec.js';
import type { ConcurrencyLedger } from '../scaling/concurrency.js';

export interface ProvisionedConcurrencyStatus {
  requested: number;
  allocated: number;
  available: number;
  status: 'IN_PROGRESS' | 'READY' | 'FAILED';
}

/** Writes `status.provisionedConcurrency` (and nothing else) of a Version or Alias. */
export interface ProvisionedStatusWriter {
  write(
    kind: 'Version' | 'Alias',
    namespace: string,
    name: string,
    status: ProvisionedConcurrencyStatus,
  ): Promise<void>;
}

interface Claim {
  kind: 'Version' | 'Alias';
  object: Version | Alias;
  key: string;
  requested: number;
}

function timestamp(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  return typeof value === 'string' ? value : '';
}

export class CatalogSync {
  private knownFunctions = new Set<string>();
  /** Keys whose first cold start the pool was asked to prepare (see `sync`). */
  private prepared = new Set<string>();
  private claims: Claim[] = [];
  private readonly written = new Map<string, string>();

  constructor(
    private readonly catalog: FunctionCatalog,
    private readonly ledger: ConcurrencyLedger,
    private readonly pool: EnvironmentPool,
    private readonly settings: EnvironmentSettings,
    private readonly log: Logger,
    private readonly statusWriter?: ProvisionedStatusWriter,
    /** With several gateway replicas: the functions this one serves (their provisioned environments). */
    private readonly serves: (namespace: string, functionName: string) => boolean = () => true,
  ) {}

  sync(): void {
    const fns = new Map<string, LaminaFunction>();
    for (const fn of this.catalog.functions()) fns.set(`${fn.metadata.namespace}/${fn.metadata.name}`, fn);

    const claims: Claim[] = [];
    const currentKeys = new Set<string>();
    const prepared = new Set<string>();
    for (const fn of fns.values()) {
      const latest = snapshotOfLatest(fn);
      if (!latest) continue;
      const spec = environmentSpec(fn, '$LATEST', latest, 'on-demand', this.settings);
      currentKeys.add(spec.key);
      // A new or changed $LATEST of a function this replica serves: its first cold start
      // should not wait for the code (once per configuration, not on every sync).
      if (!this.serves(spec.namespace, spec.functionName)) continue;
      if (!this.prepared.has(spec.key)) this.pool.prepare(spec);
      prepared.add(spec.key);
    }
    this.prepared = prepared;
    const versionKey = (namespace: string, functionName: string, number: string) => {
      const fn = fns.get(`${namespace}/${functionName}`);
      const snapshot = this.catalog.getVersion(namespace, functionName, number)?.spec.snapshot;
      return fn && snapshot
        ? environmentSpec(fn, number, snapshot, 'provisioned-concurrency', this.settings)
        : undefined;
    };
    const targets = new Map<string, ProvisionedTarget>();
    const addTarget = (kind: Claim['kind'], object: Version | Alias, number: string, requested: number) => {
      const namespace = object.metadata.namespace ?? '';
      if (!this.serves(namespace, object.spec.functionName)) return; // another replica's
      const spec = versionKey(namespace, object.spec.functionName, number);
      if (!spec) return;
      currentKeys.add(spec.key);
      if (requested <= 0) return;
      const target = targets.get(spec.key) ?? { spec, count: 0 };
      target.count += requested;
      targets.set(spec.key, target);
      claims.push({ kind, object, key: spec.key, requested });
    };
    for (const v of this.catalog.versions()) {
      const number = versionNumber(v);
      if (number) addTarget('Version', v, number, v.spec.provisionedConcurrentExecutions ?? 0);
    }
    for (const a of this.catalog.aliases()) {
      if (a.spec.functionVersion !== '$LATEST') {
        addTarget('Alias', a, a.spec.functionVersion, a.spec.provisionedConcurrentExecutions ?? 0);
      }
    }

    // Reservations and held provisioned concurrency per function.
    const provisionedByFunction = new Map<string, number>();
    for (const t of targets.values()) {
      const key = `${t.spec.namespace}/${t.spec.functionName}`;
      provisionedByFunction.set(key, (provisionedByFunction.get(key) ?? 0) + t.count);
    }
    for (const [key, fn] of fns) {
      const reserved = fn.spec.reservedConcurrentExecutions;
      this.ledger.setFunction(fn.metadata.namespace ?? '', fn.metadata.name, {
        ...(reserved !== undefined ? { reserved } : {}),
        provisioned: provisionedByFunction.get(key) ?? 0,
        order: `${timestamp(fn.metadata.creationTimestamp)}/${fn.metadata.name}`,
      });
      if (
        reserved !== undefined &&
        this.ledger.grantedReservation(fn.metadata.namespace ?? '', fn.metadata.name) === undefined
      ) {
        this.log.warn('reserved concurrency not granted: it would leave less than the unreserved minimum', {
          namespace: fn.metadata.namespace,
          function: fn.metadata.name,
          reserved,
        });
      }
    }
    for (const key of this.knownFunctions) {
      if (fns.has(key)) continue;
      const [namespace = '', name = ''] = key.split('/');
      this.ledger.removeFunction(namespace, name);
    }
    this.knownFunctions = new Set(fns.keys());

    this.pool.setProvisioned([...targets.values()]);
    this.pool.retireStale((key) => currentKeys.has(key));
    this.claims = claims;
  }

  /** Provisioned status for every Version/Alias that asks for some, from what is ready now. */
  provisionedStatuses(): Array<{ claim: Claim; status: ProvisionedConcurrencyStatus }> {
    const remaining = new Map<string, number>();
    const out = [];
    const sorted = [...this.claims].sort((a, b) =>
      `${a.kind}/${a.object.metadata.name}` < `${b.kind}/${b.object.metadata.name}` ? -1 : 1,
    );
    for (const claim of sorted) {
      if (!remaining.has(claim.key)) remaining.set(claim.key, this.pool.provisionedCount(claim.key).ready);
      const ready = remaining.get(claim.key) ?? 0;
      const allocated = Math.min(ready, claim.requested);
      remaining.set(claim.key, ready - allocated);
      out.push({
        claim,
        status: {
          requested: claim.requested,
          allocated,
          available: allocated,
          status: allocated >= claim.requested ? ('READY' as const) : ('IN_PROGRESS' as const),
        },
      });
    }
    return out;
  }

  /** Patches statuses that changed since the last write. */
  async writeStatuses(): Promise<void> {
    if (!this.statusWriter) return;
    for (const { claim, status } of this.provisionedStatuses()) {
      const { namespace = '', name } = claim.object.metadata;
      const id = `${claim.kind}/${namespace}/${name}`;
      const json = JSON.stringify(status);
      const current = JSON.stringify(claim.object.status?.provisionedConcurrency ?? null);
      if (this.written.get(id) === json || current === json) continue;
      try {
        await this.statusWriter.write(claim.kind, namespace, name, status);
        this.written.set(id, json);
      } catch (err) {
        this.log.warn('could not write provisioned concurrency status', { object: id, error: String(err) });
      }
    }
  }
}
