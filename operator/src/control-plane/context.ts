// What every control-plane route needs: options, name resolution, authorization and the
// lookups that answer Lambda's 404s. Routes stay short by going through here.
import type { FastifyRequest } from 'fastify';
import { ResourceNotFoundException } from '../errors.js';
import {
  type Alias,
  type FunctionReference,
  type LaminaFunction,
  resolveFunctionReference,
  type Version,
} from '../api/index.js';
import { fixedNamespace, type CallerNamespace } from '../kube/index.js';
import type { ArtifactStore } from '../store/index.js';
import type { ControlPlaneAccess, Resource, Verb } from './access.js';
import type { CodeLimits } from './code.js';
import { aliasName, functionArn } from './configuration.js';
import { kube, type LaminaObjects } from './objects.js';

export interface ControlPlaneOptions {
  objects: LaminaObjects;
  /** The artifact store, acting with the caller's token when there is one. */
  store: (callerToken: string | undefined) => ArtifactStore;
  /**
   * GetFunction's Code.Location: an HMAC-signed URL that expires after `ttlSeconds`. Served by
   * the artifact store at `storePublicUrl` when clients can reach it (it shares the key), else
   * by this gateway (/lamina/code/…) at the address the client called.
   */
  downloads: { key: string; ttlSeconds: number; storePublicUrl?: string };
  access: ControlPlaneAccess;
  region: string;
  defaultNamespace: string;
  /** Where a caller's bare names resolve (default: always `defaultNamespace`). */
  bareNames?: CallerNamespace;
  code: CodeLimits;
  concurrency: { namespaceLimit: number; unreservedMinimum: number };
  /** How long PublishVersion (and Publish on create/update) waits for the operator. */
  publishTimeoutMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

export class ControlPlaneContext {
  private readonly bareNames: CallerNamespace;
  private readonly callerNamespaces = new WeakMap<FastifyRequest, string>();

  constructor(readonly options: ControlPlaneOptions) {
    this.bareNames = options.bareNames ?? fixedNamespace(options.defaultNamespace);
  }

  get objects(): LaminaObjects {
    return this.options.objects;
  }

  get region(): string {
    return this.options.region;
  }

  /** Asked once per request, before its route (a hook in index.ts). */
  async identifyCaller(request: FastifyRequest): Promise<void> {
    this.callerNamespaces.set(request, await this.bareNames.of(request.headers));
  }

  /** The namespace the caller's bare names (functions, layers, lists) resolve in. */
  namespaceOf(request: FastifyRequest): string {
    return this.callerNamespaces.get(request) ?? this.options.defaultNamespace;
  }

  ref(request: FastifyRequest, functionName: string, qualifier?: string): FunctionReference {
    return resolveFunctionReference(functionName, qualifier, this.namespaceOf(request));
  }

  async authorize(
    request: FastifyRequest,
    operation: string,
    verb: Verb,
    resource: Resource,
    namespace: string,
    name?: string,
  ): Promise<void> {
    await this.options.access.authorize(request.headers, operation, verb, resource, namespace, name);
  }

  notFound(ref: { namespace: string; name: string; qualifier?: string }): ResourceNotFoundException {
    return new ResourceNotFoundException(
      `Function not found: ${functionArn(this.region, ref.namespace, ref.name, ref.qualifier)}`,
    );
  }

  async functionOrNotFound(ref: FunctionReference): Promise<LaminaFunction> {
    const fn = await kube('the function', () => this.objects.functions.get(ref.namespace, ref.name));
    if (!fn || fn.metadata.deletionTimestamp)
      throw this.notFound({ namespace: ref.namespace, name: ref.name });
    return fn;
  }

  /** Published versions of a function (those the operator has numbered), oldest first. */
  async versionsOf(namespace: string, functionName: string): Promise<Version[]> {
    const all = await kube('the versions', () => this.objects.versions.list(namespace));
    return all
      .filter(
        (v) =>
          v.spec.functionName === functionName &&
          v.spec.version !== undefined &&
          v.spec.snapshot !== undefined &&
          !v.metadata.deletionTimestamp,
      )
      .sort((a, b) => (a.spec.version ?? 0) - (b.spec.version ?? 0));
  }

  async aliasesOf(namespace: string, functionName: string): Promise<Alias[]> {
    const all = await kube('the aliases', () => this.objects.aliases.list(namespace));
    return all.filter((a) => a.spec.functionName === functionName && !a.metadata.deletionTimestamp);
  }

  async aliasOrNotFound(namespace: string, functionName: string, name: string): Promise<Alias> {
    const alias = (await this.aliasesOf(namespace, functionName)).find((a) => aliasName(a) === name);
    if (!alias) {
      throw new ResourceNotFoundException(
        `Alias not found: ${functionArn(this.region, namespace, functionName, name)}`,
      );
    }
    return alias;
  }

  /**
   * What a qualifier names: $LATEST (undefined), a published Version, or an alias's version.
   * Unknown qualifiers are Lambda's 404.
   */
  async qualified(ref: FunctionReference): Promise<{ fn: LaminaFunction; version?: Version }> {
    const fn = await this.functionOrNotFound(ref);
    if (ref.qualifier === undefined) return { fn };
    let number = ref.qualifier;
    if (!/^[0-9]+$/.test(number)) {
      const alias = (await this.aliasesOf(ref.namespace, ref.name)).find(
        (a) => aliasName(a) === ref.qualifier,
      );
      if (!alias) throw this.notFound(ref);
      if (alias.spec.functionVersion === '$LATEST') return { fn };
      number = alias.spec.functionVersion;
    }
    const version = (await this.versionsOf(ref.namespace, ref.name)).find(
      (v) => String(v.spec.version) === number,
    );
    if (!version) throw this.notFound(ref);
    return { fn, version };
  }
}
