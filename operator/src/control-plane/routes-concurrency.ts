// PutFunctionConcurrency, GetFunctionConcurrency, DeleteFunctionConcurrency and
// GetAccountSettings: reserved concurrency is the Function's spec.reservedConcurrentExecutions.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Alias, Version } from '../api/index.js';
import {
  InvalidParameterValueException,
  ProvisionedConcurrencyConfigNotFoundException,
  ValidationException,
} from '../errors.js';
import { functionArn } from './arns.js';
import { aliasName, lambdaTimestamp } from './configuration.js';
import { accountSettings, checkReservation } from './concurrency.js';
import type { ControlPlaneContext } from './context.js';
import { kube, patchAtRevision, type MergePatch, type Objects } from './objects.js';
import { z } from 'zod';
import { PutFunctionConcurrencyRequest, parseRequest } from './requests.js';

type FnParams = { Params: { name: string } };
type PcParams = { Params: { name: string }; Querystring: { Qualifier?: string; List?: string } };

const PutProvisionedConcurrencyRequest = z.object({ ProvisionedConcurrentExecutions: z.int().min(1) });

/** A conditional merge patch of one Version or Alias. */
function patcher<T extends Version | Alias>(
  objects: Objects<T>,
  what: string,
  namespace: string,
  name: string,
) {
  return (body: MergePatch): Promise<Version | Alias> =>
    patchAtRevision(objects, what, namespace, name, () => body);
}

/** Lambda's ProvisionedConcurrencyConfig view of a Version or Alias. */
function provisionedJson(target: Version | Alias, requested: number) {
  const status = target.status?.provisionedConcurrency;
  return {
    RequestedProvisionedConcurrentExecutions: requested,
    AvailableProvisionedConcurrentExecutions: status?.requested === requested ? status.available : 0,
    AllocatedProvisionedConcurrentExecutions: status?.requested === requested ? status.allocated : 0,
    Status: status?.requested === requested ? status.status : 'IN_PROGRESS',
    LastModified: lambdaTimestamp(target.metadata.creationTimestamp?.toString()),
  };
}

export function concurrencyRoutes(app: FastifyInstance, ctx: ControlPlaneContext): void {
  const unqualified = (request: FastifyRequest, name: string) => {
    const ref = ctx.ref(request, name);
    if (ref.qualifier !== undefined) {
      throw new InvalidParameterValueException(
        'Reserved concurrency applies to the whole function: pass an unqualified name.',
      );
    }
    return ref;
  };

  app.put<FnParams>('/2017-10-31/functions/:name/concurrency', async (request) => {
    const body = parseRequest(PutFunctionConcurrencyRequest, request.body);
    const ref = unqualified(request, request.params.name);
    await ctx.authorize(request, 'PutFunctionConcurrency', 'update', 'functions', ref.namespace, ref.name);
    await ctx.functionOrNotFound(ref);
    const others = (await kube('the functions', () => ctx.objects.functions.list(ref.namespace)))
      .filter((f) => f.metadata.name !== ref.name)
      .reduce((sum, f) => sum + (f.spec.reservedConcurrentExecutions ?? 0), 0);
    checkReservation(ctx.options.concurrency, others, body.ReservedConcurrentExecutions);
    await kube(`Function ${ref.name}`, () =>
      ctx.objects.functions.patch(ref.namespace, ref.name, {
        spec: { reservedConcurrentExecutions: body.ReservedConcurrentExecutions },
      }),
    );
    return { ReservedConcurrentExecutions: body.ReservedConcurrentExecutions };
  });

  app.get<FnParams>('/2019-09-30/functions/:name/concurrency', async (request) => {
    const ref = unqualified(request, request.params.name);
    await ctx.authorize(request, 'GetFunctionConcurrency', 'get', 'functions', ref.namespace, ref.name);
    const fn = await ctx.functionOrNotFound(ref);
    const reserved = fn.spec.reservedConcurrentExecutions;
    return reserved === undefined ? {} : { ReservedConcurrentExecutions: reserved };
  });

  app.delete<FnParams>('/2017-10-31/functions/:name/concurrency', async (request, reply) => {
    const ref = unqualified(request, request.params.name);
    await ctx.authorize(request, 'DeleteFunctionConcurrency', 'update', 'functions', ref.namespace, ref.name);
    await ctx.functionOrNotFound(ref);
    await kube(`Function ${ref.name}`, () =>
      ctx.objects.functions.patch(ref.namespace, ref.name, { spec: { reservedConcurrentExecutions: null } }),
    );
    return reply.code(204).send();
  });

  app.get('/2016-08-19/account-settings', async (request) => {
    const namespace = ctx.namespaceOf(request);
    await ctx.authorize(request, 'GetAccountSettings', 'list', 'functions', namespace);
    const functions = await kube('the functions', () => ctx.objects.functions.list(namespace));
    const versions = await kube('the versions', () => ctx.objects.versions.list(namespace));
    return accountSettings(
      { ...ctx.options.concurrency, ...ctx.options.code },
      {
        reserved: functions.map((f) => f.spec.reservedConcurrentExecutions ?? 0),
        codeSizes: [
          ...functions.map((f) => f.status?.codeSize ?? 0),
          ...versions.map((v) => v.spec.snapshot?.codeSize ?? 0),
        ],
        functionCount: functions.length,
      },
    );
  });

  /** The Version or Alias a provisioned-concurrency qualifier names. */
  const provisionedTarget = async (request: FastifyRequest, name: string, qualifier: string | undefined) => {
    const ref = unqualified(request, name);
    if (qualifier === undefined || qualifier === '') {
      throw new ValidationException(
        "1 validation error detected: Value null at 'qualifier' failed to satisfy constraint: Member must not be null",
      );
    }
    const fn = await ctx.functionOrNotFound(ref);
    const unpublished = () =>
      new InvalidParameterValueException(
        'Provisioned Concurrency Configs cannot be applied to unpublished function versions.',
      );
    if (qualifier === '$LATEST') throw unpublished();
    if (/^[0-9]+$/.test(qualifier)) {
      const version = (await ctx.versionsOf(ref.namespace, ref.name)).find(
        (v) => String(v.spec.version) === qualifier,
      );
      if (!version) throw ctx.notFound({ ...ref, qualifier });
      return {
        ref,
        fn,
        target: version as Version | Alias,
        patch: patcher(ctx.objects.versions, 'the version', ref.namespace, version.metadata.name),
      };
    }
    const alias = (await ctx.aliasesOf(ref.namespace, ref.name)).find((a) => aliasName(a) === qualifier);
    if (!alias) throw ctx.notFound({ ...ref, qualifier });
    if (alias.spec.functionVersion === '$LATEST') throw unpublished();
    if (Object.keys(alias.spec.routingConfig?.additionalVersionWeights ?? {}).length > 0) {
      throw new InvalidParameterValueException(
        'Alias with weights can not be used with Provisioned Concurrency',
      );
    }
    return {
      ref,
      fn,
      target: alias as Version | Alias,
      patch: patcher(ctx.objects.aliases, 'the alias', ref.namespace, alias.metadata.name),
    };
  };

  app.put<PcParams>('/2019-09-30/functions/:name/provisioned-concurrency', async (request, reply) => {
    const body = parseRequest(PutProvisionedConcurrencyRequest, request.body);
    const pre = ctx.ref(request, request.params.name);
    await ctx.authorize(
      request,
      'PutProvisionedConcurrencyConfig',
      'update',
      'functions',
      pre.namespace,
      pre.name,
    );
    const { fn, patch } = await provisionedTarget(request, request.params.name, request.query.Qualifier);
    const reserved = fn.spec.reservedConcurrentExecutions;
    if (reserved !== undefined && body.ProvisionedConcurrentExecutions > reserved) {
      throw new InvalidParameterValueException(
        'Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function',
      );
    }
    const updated = await patch({
      spec: { provisionedConcurrentExecutions: body.ProvisionedConcurrentExecutions },
    });
    return reply.code(202).send(provisionedJson(updated, body.ProvisionedConcurrentExecutions));
  });

  app.get<PcParams>('/2019-09-30/functions/:name/provisioned-concurrency', async (request) => {
    const pre = ctx.ref(request, request.params.name);
    if (request.query.List === 'ALL') {
      await ctx.authorize(
        request,
        'ListProvisionedConcurrencyConfigs',
        'get',
        'functions',
        pre.namespace,
        pre.name,
      );
      const ref = unqualified(request, request.params.name);
      await ctx.functionOrNotFound(ref);
      const targets: Array<[string, Version | Alias]> = [
        ...(await ctx.versionsOf(ref.namespace, ref.name)).map((v): [string, Version | Alias] => [
          String(v.spec.version),
          v,
        ]),
        ...(await ctx.aliasesOf(ref.namespace, ref.name)).map((a): [string, Version | Alias] => [
          aliasName(a),
          a,
        ]),
      ];
      return {
        ProvisionedConcurrencyConfigs: targets
          .filter(([, t]) => (t.spec.provisionedConcurrentExecutions ?? 0) > 0)
          .map(([qualifier, t]) => ({
            FunctionArn: functionArn(ctx.region, ref.namespace, ref.name, qualifier),
            ...provisionedJson(t, t.spec.provisionedConcurrentExecutions!),
          })),
      };
    }
    await ctx.authorize(
      request,
      'GetProvisionedConcurrencyConfig',
      'get',
      'functions',
      pre.namespace,
      pre.name,
    );
    const { target } = await provisionedTarget(request, request.params.name, request.query.Qualifier);
    const requested = target.spec.provisionedConcurrentExecutions ?? 0;
    if (requested === 0) {
      throw new ProvisionedConcurrencyConfigNotFoundException(
        'No Provisioned Concurrency Config found for this function',
      );
    }
    return provisionedJson(target, requested);
  });

  app.delete<PcParams>('/2019-09-30/functions/:name/provisioned-concurrency', async (request, reply) => {
    const pre = ctx.ref(request, request.params.name);
    await ctx.authorize(
      request,
      'DeleteProvisionedConcurrencyConfig',
      'update',
      'functions',
      pre.namespace,
      pre.name,
    );
    const { target, patch } = await provisionedTarget(request, request.params.name, request.query.Qualifier);
    if (!target.spec.provisionedConcurrentExecutions) {
      throw new ProvisionedConcurrencyConfigNotFoundException(
        'No Provisioned Concurrency Config found for this function',
      );
    }
    await patch({ spec: { provisionedConcurrentExecutions: null } });
    return reply.code(204).send();
  });
}
