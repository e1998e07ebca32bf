// PutFunctionConcurrency, GetFunctionConcurrency, DeleteFunctionConcurrency and
// GetAccountSettings: reserved concurrency is the Function's spec.reservedConcurrentExecutions.
import type { FastifyInstance } from 'fastify';
import { InvalidParameterValueException } from '../errors.js';
import { accountSettings, checkReservation } from './concurrency.js';
import type { ControlPlaneContext } from './context.js';
import { kube } from './objects.js';
import { PutFunctionConcurrencyRequest, parseRequest } from './requests.js';

type FnParams = { Params: { name: string } };

export function concurrencyRoutes(app: FastifyInstance, ctx: ControlPlaneContext): void {
  const unqualified = (name: string) => {
    const ref = ctx.ref(name);
    if (ref.qualifier !== undefined) {
      throw new InvalidParameterValueException(
        'Reserved concurrency applies to the whole function: pass an unqualified name.',
      );
    }
    return ref;
  };

  app.put<FnParams>('/2017-10-31/functions/:name/concurrency', async (request) => {
    const body = parseRequest(PutFunctionConcurrencyRequest, request.body);
    const ref = unqualified(request.params.name);
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
    const ref = unqualified(request.params.name);
    await ctx.authorize(request, 'GetFunctionConcurrency', 'get', 'functions', ref.namespace, ref.name);
    const fn = await ctx.functionOrNotFound(ref);
    const reserved = fn.spec.reservedConcurrentExecutions;
    return reserved === undefined ? {} : { ReservedConcurrentExecutions: reserved };
  });

  app.delete<FnParams>('/2017-10-31/functions/:name/concurrency', async (request, reply) => {
    const ref = unqualified(request.params.name);
    await ctx.authorize(request, 'DeleteFunctionConcurrency', 'update', 'functions', ref.namespace, ref.name);
    await ctx.functionOrNotFound(ref);
    await kube(`Function ${ref.name}`, () =>
      ctx.objects.functions.patch(ref.namespace, ref.name, { spec: { reservedConcurrentExecutions: null } }),
    );
    return reply.code(204).send();
  });

  app.get('/2016-08-19/account-settings', async (request) => {
    const namespace = ctx.options.defaultNamespace;
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
}
