// Per-function settings kept in the Function's spec and metadata: function URL config
// (spec.functionUrl), event invoke config (spec.asyncInvoke) and tags (annotation).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { LaminaFunction } from '../api/index.js';
import {
  InvalidParameterValueException,
  ResourceConflictException,
  ResourceNotFoundException,
} from '../errors.js';
import { functionArn } from './arns.js';
import { asyncInvokeOf, eventInvokeConfigJson } from './async-config.js';
import { lambdaTimestamp } from './configuration.js';
import type { ControlPlaneContext } from './context.js';
import { TAGS_ANNOTATION } from './function-spec.js';
import { patchAtRevision } from './objects.js';
import { parseRequest } from './requests.js';
import { functionUrlOf, urlConfigJson } from './url-config.js';

type FnParams = { Params: { name: string }; Querystring: { Qualifier?: string } };

const Cors = z.object({
  AllowCredentials: z.boolean().optional(),
  AllowHeaders: z.array(z.string()).optional(),
  AllowMethods: z.array(z.string()).optional(),
  AllowOrigins: z.array(z.string()).optional(),
  ExposeHeaders: z.array(z.string()).optional(),
  MaxAge: z.int().min(0).max(86_400).optional(),
});
const UrlConfigRequest = z.object({
  AuthType: z.string().optional(),
  Cors: Cors.optional(),
  InvokeMode: z.string().optional(),
});
const Destination = z.object({ Destination: z.string().optional() });
const EventInvokeConfigRequest = z.object({
  MaximumRetryAttempts: z.int().optional(),
  MaximumEventAgeInSeconds: z.int().optional(),
  DestinationConfig: z
    .object({ OnSuccess: Destination.optional(), OnFailure: Destination.optional() })
    .optional(),
});
const TagResourceRequest = z.object({ Tags: z.record(z.string().min(1).max(128), z.string().max(256)) });

const CORS_KEYS = [
  'allowCredentials',
  'allowHeaders',
  'allowMethods',
  'allowOrigins',
  'exposeHeaders',
  'maxAge',
];

/**
 * A merge patch that replaces spec.functionUrl as a whole: cors keys the new config lacks are
 * nulled (a merge patch would otherwise keep them), no cors at all removes it.
 */
function replacing(config: Record<string, unknown> & { cors?: object }, corsKeys: string[]) {
  const cors = config.cors as Record<string, unknown> | undefined;
  return {
    ...config,
    cors: cors ? Object.fromEntries(corsKeys.map((k) => [k, cors[k] ?? null])) : null,
  };
}

export function tagsOf(fn: LaminaFunction): Record<string, string> {
  try {
    return JSON.parse(fn.metadata.annotations?.[TAGS_ANNOTATION] ?? '{}') as Record<string, string>;
  } catch {
    return {};
  }
}

export function configRoutes(app: FastifyInstance, ctx: ControlPlaneContext): void {
  const region = ctx.region;

  /** These settings live on the function as a whole: a qualifier cannot be honoured. */
  const unqualified = (request: FastifyRequest<FnParams>) => {
    const ref = ctx.ref(request, request.params.name, request.query.Qualifier);
    if (ref.qualifier !== undefined) {
      throw new InvalidParameterValueException(
        'Lamina keeps this setting per function ($LATEST and every version alike): omit the qualifier.',
      );
    }
    return ref;
  };

  const patchFunction = (
    namespace: string,
    name: string,
    patch: (fn: LaminaFunction) => Record<string, unknown>,
  ) => patchAtRevision(ctx.objects.functions, `Function ${name}`, namespace, name, patch);

  // --- function URLs
  const urlOf = (request: FastifyRequest, fn: LaminaFunction) => {
    const namespace = fn.metadata.namespace ?? 'default';
    const url =
      fn.status?.url ?? `${request.protocol}://${request.host}/lambda-url/${namespace}/${fn.metadata.name}/`;
    return urlConfigJson(
      fn.spec.functionUrl!,
      url,
      functionArn(region, namespace, fn.metadata.name),
      lambdaTimestamp(fn.metadata.creationTimestamp?.toString()),
      lambdaTimestamp(fn.status?.lastModified),
    );
  };

  app.post<FnParams>('/2021-10-31/functions/:name/url', async (request, reply) => {
    const body = parseRequest(UrlConfigRequest, request.body);
    const ref = unqualified(request);
    await ctx.authorize(request, 'CreateFunctionUrlConfig', 'update', 'functions', ref.namespace, ref.name);
    const config = functionUrlOf(body);
    await ctx.functionOrNotFound(ref);
    const updated = await patchFunction(ref.namespace, ref.name, (current) => {
      if (current.spec.functionUrl) {
        throw new ResourceConflictException(
          `Failed to create function url config for [functionArn = ${functionArn(region, ref.namespace, ref.name)}]. Error message:  FunctionUrlConfig exists for this Lambda function`,
        );
      }
      return { spec: { functionUrl: config } };
    });
    return reply.code(201).send(urlOf(request, updated));
  });

  app.get<FnParams>('/2021-10-31/functions/:name/url', async (request) => {
    const ref = unqualified(request);
    await ctx.authorize(request, 'GetFunctionUrlConfig', 'get', 'functions', ref.namespace, ref.name);
    const fn = await ctx.functionOrNotFound(ref);
    if (!fn.spec.functionUrl)
      throw new ResourceNotFoundException('The resource you requested does not exist.');
    return urlOf(request, fn);
  });

  app.put<FnParams>('/2021-10-31/functions/:name/url', async (request) => {
    const body = parseRequest(UrlConfigRequest, request.body);
    const ref = unqualified(request);
    await ctx.authorize(request, 'UpdateFunctionUrlConfig', 'update', 'functions', ref.namespace, ref.name);
    await ctx.functionOrNotFound(ref);
    const updated = await patchFunction(ref.namespace, ref.name, (current) => {
      if (!current.spec.functionUrl)
        throw new ResourceNotFoundException('The resource you requested does not exist.');
      return { spec: { functionUrl: replacing(functionUrlOf(body, current.spec.functionUrl), CORS_KEYS) } };
    });
    return urlOf(request, updated);
  });

  app.delete<FnParams>('/2021-10-31/functions/:name/url', async (request, reply) => {
    const ref = unqualified(request);
    await ctx.authorize(request, 'DeleteFunctionUrlConfig', 'update', 'functions', ref.namespace, ref.name);
    const fn = await ctx.functionOrNotFound(ref);
    if (!fn.spec.functionUrl)
      throw new ResourceNotFoundException('The resource you requested does not exist.');
    await patchFunction(ref.namespace, ref.name, () => ({ spec: { functionUrl: null } }));
    return reply.code(204).send();
  });

  // --- event invoke config
  const eventConfigOf = (fn: LaminaFunction) =>
    eventInvokeConfigJson(
      fn.spec.asyncInvoke!,
      region,
      fn.metadata.namespace ?? 'default',
      fn.metadata.name,
      fn.status?.lastModified ?? fn.metadata.creationTimestamp?.toString(),
    );

  const putEventConfig = (merge: boolean) => async (request: FastifyRequest<FnParams>) => {
    const body = parseRequest(EventInvokeConfigRequest, request.body);
    const ref = unqualified(request);
    const operation = merge ? 'UpdateFunctionEventInvokeConfig' : 'PutFunctionEventInvokeConfig';
    await ctx.authorize(request, operation, 'update', 'functions', ref.namespace, ref.name);
    const fn = await ctx.functionOrNotFound(ref);
    asyncInvokeOf(body, ref.namespace, merge ? fn.spec.asyncInvoke : undefined); // refuse before writing
    const updated = await patchFunction(ref.namespace, ref.name, (current) => {
      if (merge && !current.spec.asyncInvoke) {
        throw new ResourceNotFoundException(
          `The function ${functionArn(region, ref.namespace, ref.name)} doesn't have an EventInvokeConfig`,
        );
      }
      const config = asyncInvokeOf(body, ref.namespace, merge ? current.spec.asyncInvoke : undefined);
      const d = config.destinationConfig;
      return {
        spec: {
          asyncInvoke: {
            ...config,
            destinationConfig: d ? { onSuccess: d.onSuccess ?? null, onFailure: d.onFailure ?? null } : null,
          },
        },
      };
    });
    return eventConfigOf(updated);
  };

  app.put<FnParams>('/2019-09-25/functions/:name/event-invoke-config', putEventConfig(false));
  app.post<FnParams>('/2019-09-25/functions/:name/event-invoke-config', putEventConfig(true));

  app.get<FnParams>('/2019-09-25/functions/:name/event-invoke-config', async (request) => {
    const ref = unqualified(request);
    await ctx.authorize(request, 'GetFunctionEventInvokeConfig', 'get', 'functions', ref.namespace, ref.name);
    const fn = await ctx.functionOrNotFound(ref);
    if (!fn.spec.asyncInvoke) {
      throw new ResourceNotFoundException(
        `The function ${functionArn(region, ref.namespace, ref.name)} doesn't have an EventInvokeConfig`,
      );
    }
    return eventConfigOf(fn);
  });

  app.get<FnParams>('/2019-09-25/functions/:name/event-invoke-config/list', async (request) => {
    const ref = unqualified(request);
    await ctx.authorize(
      request,
      'ListFunctionEventInvokeConfigs',
      'get',
      'functions',
      ref.namespace,
      ref.name,
    );
    const fn = await ctx.functionOrNotFound(ref);
    return { FunctionEventInvokeConfigs: fn.spec.asyncInvoke ? [eventConfigOf(fn)] : [] };
  });

  app.delete<FnParams>('/2019-09-25/functions/:name/event-invoke-config', async (request, reply) => {
    const ref = unqualified(request);
    await ctx.authorize(
      request,
      'DeleteFunctionEventInvokeConfig',
      'update',
      'functions',
      ref.namespace,
      ref.name,
    );
    const fn = await ctx.functionOrNotFound(ref);
    if (!fn.spec.asyncInvoke) {
      throw new ResourceNotFoundException(
        `The function ${functionArn(region, ref.namespace, ref.name)} doesn't have an EventInvokeConfig`,
      );
    }
    await patchFunction(ref.namespace, ref.name, () => ({ spec: { asyncInvoke: null } }));
    return reply.code(204).send();
  });

  // --- tags (a function ARN; Lamina keeps them in the annotation lamina.dev/tags)
  type TagParams = { Params: { arn: string }; Querystring: { tagKeys?: string | string[] } };
  const tagged = (request: FastifyRequest, arn: string) => {
    const ref = ctx.ref(request, arn);
    if (ref.qualifier !== undefined || !arn.startsWith('arn:')) {
      throw new InvalidParameterValueException(`Tags apply to an unqualified function ARN, not ${arn}.`);
    }
    return ref;
  };
  const writeTags = (
    namespace: string,
    name: string,
    change: (tags: Record<string, string>) => Record<string, string>,
  ) =>
    patchFunction(namespace, name, (current) => {
      const next = change(tagsOf(current));
      return {
        metadata: {
          annotations: { [TAGS_ANNOTATION]: Object.keys(next).length ? JSON.stringify(next) : null },
        },
      };
    });

  app.get<TagParams>('/2017-03-31/tags/:arn', async (request) => {
    const ref = tagged(request, request.params.arn);
    await ctx.authorize(request, 'ListTags', 'get', 'functions', ref.namespace, ref.name);
    return { Tags: tagsOf(await ctx.functionOrNotFound(ref)) };
  });

  app.post<TagParams>('/2017-03-31/tags/:arn', async (request, reply) => {
    const body = parseRequest(TagResourceRequest, request.body);
    const ref = tagged(request, request.params.arn);
    await ctx.authorize(request, 'TagResource', 'update', 'functions', ref.namespace, ref.name);
    await ctx.functionOrNotFound(ref);
    await writeTags(ref.namespace, ref.name, (tags) => ({ ...tags, ...body.Tags }));
    return reply.code(204).send();
  });

  app.delete<TagParams>('/2017-03-31/tags/:arn', async (request, reply) => {
    const ref = tagged(request, request.params.arn);
    const keys = [request.query.tagKeys ?? []].flat();
    await ctx.authorize(request, 'UntagResource', 'update', 'functions', ref.namespace, ref.name);
    await ctx.functionOrNotFound(ref);
    await writeTags(ref.namespace, ref.name, (tags) =>
      Object.fromEntries(Object.entries(tags).filter(([k]) => !keys.includes(k))),
    );
    return reply.code(204).send();
  });
}
