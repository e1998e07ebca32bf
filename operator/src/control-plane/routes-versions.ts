// Versions and aliases: PublishVersion, ListVersionsByFunction, CreateAlias, GetAlias,
// UpdateAlias, DeleteAlias, ListAliases (LAMBDA-SPEC §5, §10).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Alias } from '../api/index.js';
import { InvalidParameterValueException, ResourceConflictException } from '../errors.js';
import {
  aliasObjectName,
  checkAliasName,
  checkFunctionVersion,
  checkVersionsExist,
  routingConfigOf,
} from './alias-spec.js';
import {
  aliasConfiguration,
  aliasName,
  functionArn,
  hexSha256,
  latestConfiguration,
  versionConfiguration,
} from './configuration.js';
import type { ControlPlaneContext } from './context.js';
import { kube, patchAtRevision, type MergePatch } from './objects.js';
import { paginate, parseMaxItems } from './pagination.js';
import { publishVersion } from './publish.js';
import { CreateAliasRequest, PublishVersionRequest, UpdateAliasRequest, parseRequest } from './requests.js';

type FnParams = { Params: { name: string } };
type AliasParams = { Params: { name: string; alias: string } };
type ListQuery = { Querystring: { Marker?: string; MaxItems?: string; FunctionVersion?: string } };

export function versionRoutes(app: FastifyInstance, ctx: ControlPlaneContext): void {
  const naming = { region: ctx.region };

  const unqualified = (request: FastifyRequest, name: string) => {
    const ref = ctx.ref(request, name);
    if (ref.qualifier !== undefined) {
      throw new InvalidParameterValueException('This operation takes an unqualified function name.');
    }
    return ref;
  };

  app.post<FnParams>('/2015-03-31/functions/:name/versions', async (request, reply) => {
    const body = parseRequest(PublishVersionRequest, request.body ?? {});
    const ref = unqualified(request, request.params.name);
    await ctx.authorize(request, 'PublishVersion', 'create', 'versions', ref.namespace);
    const fn = await ctx.functionOrNotFound(ref);
    let codeSha256: string | undefined;
    if (body.CodeSha256 !== undefined) {
      codeSha256 = hexSha256(body.CodeSha256);
      if (!codeSha256) {
        throw new InvalidParameterValueException(
          `CodeSHA256 (${body.CodeSha256}) is different from current CodeSHA256 in $LATEST. Please try again with the CodeSHA256 in $LATEST.`,
        );
      }
    }
    const version = await publishVersion(ctx, fn, {
      ...(body.Description !== undefined && { description: body.Description }),
      ...(codeSha256 !== undefined && { codeSha256 }),
      ...(body.RevisionId !== undefined && { revisionId: body.RevisionId }),
    });
    return reply.code(201).send(versionConfiguration(fn, version, naming));
  });

  app.get<FnParams & ListQuery>('/2015-03-31/functions/:name/versions', async (request) => {
    const ref = unqualified(request, request.params.name);
    await ctx.authorize(request, 'ListVersionsByFunction', 'list', 'versions', ref.namespace);
    const fn = await ctx.functionOrNotFound(ref);
    const maxItems = parseMaxItems(request.query.MaxItems, 50);
    const entries = [
      { key: '$LATEST', configuration: () => latestConfiguration(fn, naming) },
      ...(await ctx.versionsOf(ref.namespace, ref.name)).map((v) => ({
        key: String(v.spec.version),
        configuration: () => versionConfiguration(fn, v, naming),
      })),
    ];
    const page = paginate(entries, (e) => e.key, request.query.Marker, maxItems);
    return {
      Versions: page.items.map((e) => e.configuration()),
      ...(page.nextMarker && { NextMarker: page.nextMarker }),
    };
  });

  const publishedNumbers = async (namespace: string, name: string) =>
    new Set((await ctx.versionsOf(namespace, name)).map((v) => v.spec.version ?? 0));

  app.post<FnParams>('/2015-03-31/functions/:name/aliases', async (request, reply) => {
    const body = parseRequest(CreateAliasRequest, request.body);
    const ref = unqualified(request, request.params.name);
    checkAliasName(body.Name);
    checkFunctionVersion(body.FunctionVersion);
    const routingConfig = routingConfigOf(body.FunctionVersion, body.RoutingConfig?.AdditionalVersionWeights);
    await ctx.authorize(request, 'CreateAlias', 'create', 'aliases', ref.namespace);
    await ctx.functionOrNotFound(ref);
    const aliasArn = functionArn(ctx.region, ref.namespace, ref.name, body.Name);
    if ((await ctx.aliasesOf(ref.namespace, ref.name)).some((a) => aliasName(a) === body.Name)) {
      throw new ResourceConflictException(`Alias already exists: ${aliasArn}`);
    }
    checkVersionsExist(ctx.region, ref.namespace, ref.name, await publishedNumbers(ref.namespace, ref.name), [
      body.FunctionVersion,
      ...Object.keys(routingConfig?.additionalVersionWeights ?? {}),
    ]);
    const objectName = aliasObjectName(ref.name, body.Name);
    const alias = await kube('the alias', () =>
      ctx.objects.aliases.create(ref.namespace, {
        metadata: objectName
          ? { name: objectName, namespace: ref.namespace }
          : { generateName: `${ref.name}-alias-`, namespace: ref.namespace },
        spec: {
          functionName: ref.name,
          name: body.Name,
          functionVersion: body.FunctionVersion,
          ...(body.Description && { description: body.Description }),
          ...(routingConfig && { routingConfig }),
        },
      }),
    ).catch((err: unknown) => {
      if (err instanceof ResourceConflictException)
        throw new ResourceConflictException(`Alias already exists: ${aliasArn}`);
      throw err;
    });
    return reply.code(201).send(aliasConfiguration(alias, naming));
  });

  app.get<AliasParams>('/2015-03-31/functions/:name/aliases/:alias', async (request) => {
    const ref = unqualified(request, request.params.name);
    await ctx.authorize(request, 'GetAlias', 'get', 'aliases', ref.namespace);
    await ctx.functionOrNotFound(ref);
    return aliasConfiguration(
      await ctx.aliasOrNotFound(ref.namespace, ref.name, request.params.alias),
      naming,
    );
  });

  app.put<AliasParams>('/2015-03-31/functions/:name/aliases/:alias', async (request) => {
    const body = parseRequest(UpdateAliasRequest, request.body);
    const ref = unqualified(request, request.params.name);
    if (body.FunctionVersion !== undefined) checkFunctionVersion(body.FunctionVersion);
    await ctx.authorize(request, 'UpdateAlias', 'update', 'aliases', ref.namespace);
    await ctx.functionOrNotFound(ref);
    const found: Alias = await ctx.aliasOrNotFound(ref.namespace, ref.name, request.params.alias);
    const published = await publishedNumbers(ref.namespace, ref.name);
    const updated = await patchAtRevision(
      ctx.objects.aliases,
      'the alias',
      ref.namespace,
      found.metadata.name,
      (alias) => {
        const functionVersion = body.FunctionVersion ?? alias.spec.functionVersion;
        // Lambda keeps the routing unless RoutingConfig is sent; an empty one removes it.
        const weights =
          body.RoutingConfig !== undefined
            ? (body.RoutingConfig.AdditionalVersionWeights ?? {})
            : alias.spec.routingConfig?.additionalVersionWeights;
        const routingConfig = routingConfigOf(functionVersion, weights);
        checkVersionsExist(ctx.region, ref.namespace, ref.name, published, [
          functionVersion,
          ...Object.keys(routingConfig?.additionalVersionWeights ?? {}),
        ]);
        const spec: MergePatch = { functionVersion };
        if (body.Description !== undefined)
          spec.description = body.Description === '' ? null : body.Description;
        if (body.RoutingConfig !== undefined) {
          // A merge patch merges maps: replace the weights by removing the old keys first.
          const old = alias.spec.routingConfig?.additionalVersionWeights ?? {};
          const next = routingConfig?.additionalVersionWeights ?? {};
          spec.routingConfig = Object.keys(next).length
            ? {
                additionalVersionWeights: {
                  ...Object.fromEntries(Object.keys(old).map((k) => [k, null])),
                  ...next,
                },
              }
            : null;
        }
        return { spec };
      },
      body.RevisionId,
    );
    return aliasConfiguration(updated, naming);
  });

  app.delete<AliasParams>('/2015-03-31/functions/:name/aliases/:alias', async (request, reply) => {
    const ref = unqualified(request, request.params.name);
    await ctx.authorize(request, 'DeleteAlias', 'delete', 'aliases', ref.namespace);
    await ctx.functionOrNotFound(ref);
    const alias = (await ctx.aliasesOf(ref.namespace, ref.name)).find(
      (a) => aliasName(a) === request.params.alias,
    );
    // Lambda answers 204 for an alias that does not exist.
    if (alias) await kube('the alias', () => ctx.objects.aliases.delete(ref.namespace, alias.metadata.name));
    return reply.code(204).send();
  });

  app.get<FnParams & ListQuery>('/2015-03-31/functions/:name/aliases', async (request) => {
    const ref = unqualified(request, request.params.name);
    await ctx.authorize(request, 'ListAliases', 'list', 'aliases', ref.namespace);
    await ctx.functionOrNotFound(ref);
    const maxItems = parseMaxItems(request.query.MaxItems, 50);
    let aliases = await ctx.aliasesOf(ref.namespace, ref.name);
    if (request.query.FunctionVersion !== undefined) {
      aliases = aliases.filter((a) => a.spec.functionVersion === request.query.FunctionVersion);
    }
    const page = paginate(aliases, aliasName, request.query.Marker, maxItems);
    return {
      Aliases: page.items.map((a) => aliasConfiguration(a, naming)),
      ...(page.nextMarker && { NextMarker: page.nextMarker }),
    };
  });
}
