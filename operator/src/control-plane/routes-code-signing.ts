// Code signing configs: Lamina verifies no code signatures, so every function has none.
// GetFunctionCodeSigningConfig answers that (Terraform's AWS provider reads it for every zip
// function), DeleteFunctionCodeSigningConfig has nothing to remove, and
// PutFunctionCodeSigningConfig is refused rather than accepted and not enforced.
import type { FastifyInstance } from 'fastify';
import { InvalidParameterValueException } from '../errors.js';
import type { ControlPlaneContext } from './context.js';

type FnParams = { Params: { name: string } };
const PATH = '/2020-06-30/functions/:name/code-signing-config';

export function codeSigningRoutes(app: FastifyInstance, ctx: ControlPlaneContext): void {
  app.get<FnParams>(PATH, async (request) => {
    const ref = ctx.ref(request, request.params.name);
    await ctx.authorize(request, 'GetFunctionCodeSigningConfig', 'get', 'functions', ref.namespace, ref.name);
    await ctx.functionOrNotFound(ref);
    return { CodeSigningConfigArn: '', FunctionName: ref.name };
  });

  app.delete<FnParams>(PATH, async (request, reply) => {
    const ref = ctx.ref(request, request.params.name);
    await ctx.authorize(
      request,
      'DeleteFunctionCodeSigningConfig',
      'update',
      'functions',
      ref.namespace,
      ref.name,
    );
    await ctx.functionOrNotFound(ref);
    return reply.code(204).send();
  });

  app.put<FnParams>(PATH, async (request) => {
    const ref = ctx.ref(request, request.params.name);
    await ctx.authorize(
      request,
      'PutFunctionCodeSigningConfig',
      'update',
      'functions',
      ref.namespace,
      ref.name,
    );
    await ctx.functionOrNotFound(ref);
    throw new InvalidParameterValueException(
      'Lamina does not verify code signatures: a code signing config cannot be attached to a function.',
    );
  });
}
