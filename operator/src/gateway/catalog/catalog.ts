// What the gateway knows about functions, versions and aliases: a read-only view kept
// current by informers in production (no Kubernetes call on the invoke path) and filled by
// hand in tests.
import type { Alias, LaminaFunction, Version } from '../../api/index.js';

export interface FunctionCatalog {
  getFunction(namespace: string, name: string): LaminaFunction | undefined;
  /** A published version by number. */
  getVersion(namespace: string, functionName: string, version: string): Version | undefined;
  /** An alias by the name clients use (`spec.name`, else `metadata.name`). */
  getAlias(namespace: string, functionName: string, alias: string): Alias | undefined;
  functions(): LaminaFunction[];
  versions(): Version[];
  aliases(): Alias[];
  /** Called after any change; returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
}

export function aliasName(alias: Alias): string {
  return alias.spec.name ?? alias.metadata.name;
}

/** The number of a published version: the operator records it in `spec.version`. */
export function versionNumber(version: Version): string | undefined {
  return version.spec.version !== undefined ? String(version.spec.version) : version.status?.version;
}

const key = (...parts: string[]) => parts.join('/');

/** A catalog held in maps; the informer-backed catalog feeds one of these. */
export class MemoryCatalog implements FunctionCatalog {
  private readonly fns = new Map<string, LaminaFunction>();
  private readonly vers = new Map<string, Version>();
  private readonly als = new Map<string, Alias>();
  private readonly listeners = new Set<() => void>();

  /** Replace or insert objects (by namespace/name); `remove` deletes them. */
  upsertFunction(fn: LaminaFunction): void {
    this.fns.set(key(fn.metadata.namespace ?? '', fn.metadata.name), fn);
    this.changed();
  }
  removeFunction(fn: LaminaFunction): void {
    this.fns.delete(key(fn.metadata.namespace ?? '', fn.metadata.name));
    this.changed();
  }
  upsertVersion(v: Version): void {
    this.vers.set(key(v.metadata.namespace ?? '', v.metadata.name), v);
    this.changed();
  }
  removeVersion(v: Version): void {
    this.vers.delete(key(v.metadata.namespace ?? '', v.metadata.name));
    this.changed();
  }
  upsertAlias(a: Alias): void {
    this.als.set(key(a.metadata.namespace ?? '', a.metadata.name), a);
    this.changed();
  }
  removeAlias(a: Alias): void {
    this.als.delete(key(a.metadata.namespace ?? '', a.metadata.name));
    this.changed();
  }

  getFunction(namespace: string, name: string) {
    return this.fns.get(key(namespace, name));
  }
  getVersion(namespace: string, functionName: string, version: string) {
    for (const v of this.vers.values()) {
      if (
        v.metadata.namespace === namespace &&
        v.spec.functionName === functionName &&
        versionNumber(v) === version
      )
        return v;
    }
    return undefined;
  }
  getAlias(namespace: string, functionName: string, alias: string) {
    for (const a of this.als.values()) {
      if (
        a.metadata.namespace === namespace &&
        a.spec.functionName === functionName &&
        aliasName(a) === alias
      )
        return a;
    }
    return undefined;
  }
  functions() {
    return [...this.fns.values()];
  }
  versions() {
    return [...this.vers.values()];
  }
  aliases() {
    return [...this.als.values()];
  }
  onChange(listener: () => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  private changed() {
    for (const listener of this.listeners) listener();
  }
}
