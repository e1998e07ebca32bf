// How gateway replicas share a namespace's unreserved concurrency (docs/high-availability.md).
// Pure: decisions from what a replica last read of the grants and what it counts itself;
// `unreserved-budget.ts` reads and writes them.
//
// A namespace's unreserved functions may be owned by different replicas, but Lambda's limit is
// one number for the account. Each replica holds a grant of the namespace's shared pool and
// admits on-demand executions of unreserved functions only within it. The grants of every
// replica live in one document, written only with the version read (a conflict reads again),
// so their sum never exceeds the pool: a replica raises its own grant only out of what the
// version it writes over leaves free. Grants follow demand:
//   - a replica with invokes waiting for more takes what they need plus a chunk, as far as the
//     pool allows, and says how many more it still wants;
//   - while another replica wants more, every other one hands back what it does not use now;
//   - otherwise a replica keeps a chunk of headroom above its recent peak, tops it up when less
//     than half a chunk is left, and gives back what is more than a chunk above that;
//   - the grants of members no longer live are removed (their executions, if any still run on
//     adopted environments, are counted by the new owner).
// A replica never lowers its grant below what it has running: admitted executions are never
// revoked.

export interface BudgetEntry {
  grant: number;
  /** Executions this replica has waiting that its grant does not cover. */
  wants?: number;
}

/** member → entry, for one namespace. */
export type NamespaceGrants = Record<string, BudgetEntry>;
/** namespace → its grants. */
export type Budget = Record<string, NamespaceGrants>;

export interface UnreservedUse {
  /** On-demand executions of the namespace's unreserved functions on this replica now. */
  used: number;
  /** The most there were at once over the recent window (≥ used). */
  recentPeak: number;
  /** Invokes on this replica waiting for a larger grant. */
  waiting: number;
  /** The namespace's shared pool: its limit less reservations and unreserved provisioned concurrency. */
  capacity: number;
}

/** The step in which grants grow and the headroom a busy replica keeps: 5 % of the pool. */
export function chunkOf(capacity: number): number {
  return Math.max(1, Math.ceil(capacity / 20));
}

/**
 * The namespace's grants as `self` would write them: its own entry planned from `use`, the
 * entries of members not in `alive` removed (unless `keepOthers`: the members are not known
 * yet). Returns `grants` itself when nothing changes.
 */
export function planGrants(
  self: string,
  grants: NamespaceGrants,
  alive: ReadonlySet<string>,
  use: UnreservedUse,
  keepOthers = false,
): NamespaceGrants {
  const next: NamespaceGrants = {};
  let othersGrant = 0;
  let othersWant = false;
  for (const [member, entry] of Object.entries(grants)) {
    if (member === self || (!keepOthers && !alive.has(member))) continue;
    next[member] = entry;
    othersGrant += entry.grant;
    if ((entry.wants ?? 0) > 0) othersWant = true;
  }
  const own = grants[self]?.grant ?? 0;
  const chunk = chunkOf(use.capacity);
  const need = use.used + use.waiting;
  let desired: number;
  if (use.waiting > 0) {
    desired = Math.max(own, need + chunk);
  } else if (othersWant) {
    desired = use.used;
  } else {
    const keep = use.recentPeak > 0 ? use.recentPeak + chunk : 0;
    desired = own > keep + chunk || keep === 0 ? keep : own;
    if (use.recentPeak > 0 && desired - use.used < Math.ceil(chunk / 2)) desired = use.used + chunk;
  }
  const room = Math.max(0, use.capacity - othersGrant);
  const grant = Math.max(use.used, Math.min(desired, room));
  const wants = use.waiting > 0 && grant < need ? need - grant : 0;
  if (grant > 0 || wants > 0) next[self] = wants > 0 ? { grant, wants } : { grant };
  return sameGrants(grants, next) ? grants : next;
}

function sameGrants(a: NamespaceGrants, b: NamespaceGrants): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => a[k]?.grant === b[k]?.grant && (a[k]?.wants ?? 0) === (b[k]?.wants ?? 0));
}

/** Reads the document; anything malformed counts as no grants (they are rebuilt within a round). */
export function parseBudget(text: string | undefined): Budget {
  if (!text) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) return {};
    const budget: Budget = {};
    for (const [namespace, members] of Object.entries(parsed as Record<string, unknown>)) {
      if (typeof members !== 'object' || members === null) continue;
      const grants: NamespaceGrants = {};
      for (const [member, entry] of Object.entries(members as Record<string, unknown>)) {
        const { grant, wants } = (entry ?? {}) as { grant?: unknown; wants?: unknown };
        if (typeof grant !== 'number' || !Number.isInteger(grant) || grant < 0) continue;
        grants[member] =
          typeof wants === 'number' && Number.isInteger(wants) && wants > 0 ? { grant, wants } : { grant };
      }
      if (Object.keys(grants).length > 0) budget[namespace] = grants;
    }
    return budget;
  } catch {
    return {};
  }
}
