// Functions: CreateFunction, GetFunction, GetFunctionConfiguration, UpdateFunctionCode,
// UpdateFunctionConfiguration, DeleteFunction, ListFunctions (LAMBDA-SPEC §10).
import type { FastifyInstance } from 'fastify';
import type { LaminaFunction, LayerReference } from '../api/index.js';
import {
  InvalidParameterValueException,
  PreconditionFailedException,
  ResourceConflictException,
} from '../errors.js';
import { credentialFrom } from '../kube/index.js';
import { storeZip, type UploadedCode, zipBytesOf } from './code.js';
import { codeLocation } from './downloads.js';
import { checkLayers } from './layer-check.js';
import {
  aliasName,
  functionArn,
  latestConfiguration,
  revisionIdOf,
  versionConfiguration,
} from './configuration.js';
import type { ControlPlaneContext } from './context.js';
import {
  checkFunctionName,
  configurationPatchOf,
  functionSpecOf,
  ROLE_ANNOTATION,
  TAGS_ANNOTATION,
} from './function-spec.js';
import { imageCodeOf, imageCodePatchOf, withImageResolution } from './image-spec.js';
import { kube, type MergePatch, patchAtRevision } from './objects.js';
import { paginate, parseMaxItems } from './pagination.js';
import { publishVersion, settled } from './publish.js';
import {
  CreateFunctionRequest,
  parseRequest,
  UpdateFunctionCodeRequest,
  UpdateFunctionConfigurationRequest,
} from './requests.js';

type Params = { Params: { name: string }; Querystring: { Qualifier?: string } };

function callerToken(headers: Record<string, string | string[] | undefined>): string | undefined {
  const credential = credentialFrom(headers);
  return credential.kind === 'token' ? credential.token : undefined;
}

function tagsOf(fn: LaminaFunction): Record<string, string> | undefined {
  const raw = fn.metadata.annotations?.[TAGS_ANNOTATION];
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as Record<string, string>;
  } catch {
    return undefined;
  }
}

export function functionRoutes(
  app: FastifyInstance,
  ctx: ControlPlaneContext,
  createBodyLimit: number,
): void {
  const naming = { region: ctx.region };

  const upload = async (headers: Record<string, string | string[] | undefined>, code: object) => {
    const bytes = zipBytesOf(code, ctx.options.code);
    return storeZip(ctx.options.store(callerToken(headers)), bytes);
  };

  /** After Publish: wait for the operator to take the change, then publish it. */
  const publishAfter = async (fn: LaminaFunction) => {
    const ref = { namespace: fn.metadata.namespace ?? 'default', name: fn.metadata.name };
    const ready = await settled(ctx, ref);
    const version = await publishVersion(ctx, ready, {});
    return versionConfiguration(ready, version, naming);
  };

  app.post(
    '/2015-03-31/functions',
    { bodyLimit: createBodyLimit, config: { operation: 'CreateFunction' } },
    async (request, reply) => {
      const body = parseRequest(CreateFunctionRequest, request.body);
      const ref = ctx.ref(request, body.FunctionName);
      if (ref.qualifier !== undefined) {
        throw new InvalidParameterValueException(
          'A function name cannot carry a qualifier in CreateFunction.',
        );
      }
      checkFunctionName(ref.name);
      await ctx.authorize(request, 'CreateFunction', 'create', 'functions', ref.namespace, ref.name);
      // Validate everything before the upload: a refused request writes nothing.
      const draft = functionSpecOf(body, ref.namespace, '0'.repeat(64));
      if (draft.runtime) await checkLayers(ctx, ref.namespace, draft.runtime, draft.layers);
      const existing = await kube('the function', () => ctx.objects.functions.get(ref.namespace, ref.name));
      if (existing) {
        throw new ResourceConflictException(
          `Function already exist: ${functionArn(ctx.region, ref.namespace, ref.name)}`,
        );
      }
      // An image function has nothing to upload: the operator resolves its tag to a digest.
      const code = draft.image ? undefined : await upload(request.headers, body.Code);
      const spec = code ? functionSpecOf(body, ref.namespace, code.sha256) : draft;
      const annotations: Record<string, string> = { [ROLE_ANNOTATION]: body.Role };
      if (body.Tags && Object.keys(body.Tags).length)
        annotations[TAGS_ANNOTATION] = JSON.stringify(body.Tags);
      const fn = await kube(`Function ${ref.name}`, () =>
        ctx.objects.functions.create(ref.namespace, {
          metadata: { name: ref.name, namespace: ref.namespace, annotations },
          spec,
        }),
      ).catch((err: unknown) => {
        if (err instanceof ResourceConflictException) {
          throw new ResourceConflictException(
            `Function already exist: ${functionArn(ctx.region, ref.namespace, ref.name)}`,
          );
        }
        throw err;
      });
      const configuration = body.Publish ? await publishAfter(fn) : latestConfiguration(fn, naming, code);
      return reply.code(201).send(configuration);
    },
  );

  app.get<Params>('/2015-03-31/functions/:name', async (request) => {
    const ref = ctx.ref(request, request.params.name, request.query.Qualifier);
    await ctx.authorize(request, 'GetFunction', 'get', 'functions', ref.namespace, ref.name);
    const { fn, version } = await ctx.qualified(ref);
    const configuration = version
      ? versionConfiguration(fn, version, naming)
      : latestConfiguration(fn, naming);
    const sha256 = version
      ? version.spec.snapshot?.codeSha256
      : (fn.status?.codeSha256 ?? fn.spec.code?.sha256);
    const tags = tagsOf(fn);
    const image = imageCodeOf(fn, version?.spec.snapshot);
    return {
      Configuration: configuration,
      Code: image ?? {
        RepositoryType: 'S3',
        ...(sha256 && { Location: codeLocation(ctx, request, sha256) }),
      },
      ...(tags && { Tags: tags }),
      ...(fn.spec.reservedConcurrentExecutions !== undefined && {
        Concurrency: { ReservedConcurrentExecutions: fn.spec.reservedConcurrentExecutions },
      }),
    };
  });

  app.get<Params>('/2015-03-31/functions/:name/configuration', async (request) => {
    const ref = ctx.ref(request, request.params.name, request.query.Qualifier);
    await ctx.authorize(request, 'GetFunctionConfiguration', 'get', 'functions', ref.namespace, ref.name);
    const { fn, version } = await ctx.qualified(ref);
    return version ? versionConfiguration(fn, version, naming) : latestConfiguration(fn, naming);
  });

  app.put<Params>(
    '/2015-03-31/functions/:name/code',
    { bodyLimit: createBodyLimit, config: { operation: 'UpdateFunctionCode' } },
    async (request) => {
      const body = parseRequest(UpdateFunctionCodeRequest, request.body);
      const ref = ctx.ref(request, request.params.name);
      if (ref.qualifier !== undefined)
        throw new InvalidParameterValueException('UpdateFunctionCode applies to $LATEST only.');
      await ctx.authorize(request, 'UpdateFunctionCode', 'update', 'functions', ref.namespace, ref.name);
      if (body.Architectures && body.Architectures[0] !== 'x86_64') {
        throw new InvalidParameterValueException(
          `Architecture ${body.Architectures[0]} is not supported by Lamina.`,
        );
      }
      const fn = await ctx.functionOrNotFound(ref);
      if (body.RevisionId !== undefined && body.RevisionId !== revisionIdOf(fn.metadata)) {
        throw PreconditionFailedException.revision(body.RevisionId);
      }
      // An image function takes a new ImageUri (its package type never changes, as on Lambda).
      const imagePatch = imageCodePatchOf(fn.spec, body);
      if (imagePatch) {
        if (body.DryRun) return latestConfiguration(fn, naming);
        const requestedAt = new Date(ctx.options.now()).toISOString();
        const updated = await patchAtRevision(
          ctx.objects.functions,
          `Function ${ref.name}`,
          ref.namespace,
          ref.name,
          (current) =>
            withImageResolution(current, imageCodePatchOf(current.spec, body) ?? imagePatch, requestedAt),
          body.RevisionId,
        );
        return body.Publish ? publishAfter(updated) : latestConfiguration(updated, naming);
      }
      if (body.DryRun) {
        zipBytesOf(body, ctx.options.code);
        return latestConfiguration(fn, naming);
      }
      const code: UploadedCode = await upload(request.headers, body);
      const updated = await patchAtRevision(
        ctx.objects.functions,
        `Function ${ref.name}`,
        ref.namespace,
        ref.name,
        () => ({ spec: { code: { sha256: code.sha256, inline: null, zipUrl: null } } }),
        body.RevisionId,
      );
      return body.Publish ? publishAfter(updated) : latestConfiguration(updated, naming, code);
    },
  );

  app.put<Params>('/2015-03-31/functions/:name/configuration', async (request) => {
    const body = parseRequest(UpdateFunctionConfigurationRequest, request.body);
    const ref = ctx.ref(request, request.params.name);
    if (ref.qualifier !== undefined)
      throw new InvalidParameterValueException('UpdateFunctionConfiguration applies to $LATEST only.');
    await ctx.authorize(
      request,
      'UpdateFunctionConfiguration',
      'update',
      'functions',
      ref.namespace,
      ref.name,
    );
    const fn = await ctx.functionOrNotFound(ref);
    if (body.RevisionId !== undefined && body.RevisionId !== revisionIdOf(fn.metadata)) {
      throw PreconditionFailedException.revision(body.RevisionId);
    }
    // Validated once up front, so a refusal does not depend on a race.
    const draft = configurationPatchOf(body, ref.namespace, fn.spec).spec;
    if (draft.layers !== undefined || draft.runtime !== undefined) {
      const layers = draft.layers === undefined ? fn.spec.layers : ((draft.layers ?? []) as LayerReference[]);
      const runtime = (draft.runtime as string | undefined) ?? fn.spec.runtime;
      if (runtime) await checkLayers(ctx, ref.namespace, runtime, layers, fn.status?.layers);
    }
    const updated = await patchAtRevision(
      ctx.objects.functions,
      `Function ${ref.name}`,
      ref.namespace,
      ref.name,
      (current) => {
        const { spec, role } = configurationPatchOf(body, ref.namespace, current.spec);
        const patch: MergePatch = { spec };
        if (role !== undefined) patch.metadata = { annotations: { [ROLE_ANNOTATION]: role } };
        return patch;
      },
      body.RevisionId,
    );
    return latestConfiguration(updated, naming);
  });

  app.delete<Params>('/2015-03-31/functions/:name', async (request, reply) => {
    const ref = ctx.ref(request, request.params.name, request.query.Qualifier);
    // The reference folds $LATEST into "unqualified"; deleting the function needs no qualifier.
    if (request.query.Qualifier === '$LATEST' || request.params.name.endsWith(':$LATEST')) {
      throw new InvalidParameterValueException(
        '$LATEST version cannot be deleted without deleting the function.',
      );
    }
    const q = ref.qualifier;
    if (q === undefined) {
      await ctx.authorize(request, 'DeleteFunction', 'delete', 'functions', ref.namespace, ref.name);
      await ctx.functionOrNotFound(ref);
      // Versions and aliases are owned by the Function (garbage-collected with it); deleting
      // them here as well makes the answer the same on clusters without a garbage collector.
      for (const alias of await ctx.aliasesOf(ref.namespace, ref.name)) {
        await kube('the alias', () => ctx.objects.aliases.delete(ref.namespace, alias.metadata.name));
      }
      for (const version of await ctx.versionsOf(ref.namespace, ref.name)) {
        await kube('the version', () => ctx.objects.versions.delete(ref.namespace, version.metadata.name));
      }
      await kube(`Function ${ref.name}`, () => ctx.objects.functions.delete(ref.namespace, ref.name));
      return reply.code(204).send();
    }
    if (!/^[0-9]+$/.test(q)) {
      throw new InvalidParameterValueException(
        'Deletion of aliases is not supported by DeleteFunction; use DeleteAlias.',
      );
    }
    await ctx.authorize(request, 'DeleteFunction', 'delete', 'versions', ref.namespace);
    await ctx.functionOrNotFound(ref);
    const version = (await ctx.versionsOf(ref.namespace, ref.name)).find((v) => String(v.spec.version) === q);
    if (!version) throw ctx.notFound(ref);
    const users = (await ctx.aliasesOf(ref.namespace, ref.name))
      .filter(
        (a) =>
          a.spec.functionVersion === q ||
          Object.keys(a.spec.routingConfig?.additionalVersionWeights ?? {}).includes(q),
      )
      .map(aliasName);
    if (users.length) {
      throw new ResourceConflictException(
        `Unable to delete version because the following aliases reference it: [${users.join(', ')}]`,
      );
    }
    await kube('the version', () => ctx.objects.versions.delete(ref.namespace, version.metadata.name));
    return reply.code(204).send();
  });

  app.get<{
    Querystring: { Marker?: string; MaxItems?: string; FunctionVersion?: string; MasterRegion?: string };
  }>('/2015-03-31/functions', async (request) => {
    const namespace = ctx.namespaceOf(request);
    await ctx.authorize(request, 'ListFunctions', 'list', 'functions', namespace);
    const all = request.query.FunctionVersion === 'ALL';
    if (request.query.FunctionVersion !== undefined && !all) {
      throw new InvalidParameterValueException('FunctionVersion must be ALL when given.');
    }
    const maxItems = parseMaxItems(request.query.MaxItems, 50);
    const functions = (await kube('the functions', () => ctx.objects.functions.list(namespace))).filter(
      (f) => !f.metadata.deletionTimestamp,
    );
    const entries: Array<{ key: string; configuration: () => unknown }> = functions.map((fn) => ({
      key: `${fn.metadata.name}\u0000`,
      configuration: () => latestConfiguration(fn, naming),
    }));
    if (all) {
      const versions = await kube('the versions', () => ctx.objects.versions.list(namespace));
      for (const v of versions) {
        const fn = functions.find((f) => f.metadata.name === v.spec.functionName);
        if (!fn || v.spec.version === undefined || !v.spec.snapshot) continue;
        entries.push({
          key: `${fn.metadata.name}\u0000${String(v.spec.version).padStart(10, '0')}`,
          configuration: () => versionConfiguration(fn, v, naming),
        });
      }
    }
    const page = paginate(entries, (e) => e.key, request.query.Marker, maxItems);
    return {
      Functions: page.items.map((e) => e.configuration()),
      ...(page.nextMarker && { NextMarker: page.nextMarker }),
    };
  });
}
