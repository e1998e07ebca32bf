// AddPermission, RemovePermission and GetPolicy: a function's resource-based policy, mapped
// onto the RBAC that decides who may invoke it (function-policy.ts). The caller needs
// `update functions` to change the policy — and, to add a statement, `invoke` on the function
// itself, so the gateway never grants what the caller could not (RBAC's own escalation rule).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { FunctionReference } from '../api/index.js';
import {
  InvalidParameterValueException,
  PreconditionFailedException,
  ResourceConflictException,
  ResourceNotFoundException,
} from '../errors.js';
import { isAlreadyExists } from '../kube/index.js';
import { functionArn } from './arns.js';
import { revisionIdOf } from './configuration.js';
import type { ControlPlaneContext } from './context.js';
import {
  bindingStatement,
  invokeRole,
  invokeRoleName,
  isInvokeRole,
  POLICY_FUNCTION_LABEL,
  policyDocument,
  statementBinding,
  statementBindingName,
  statementOf,
} from './function-policy.js';
import { kube, kubeErrorAsLambda } from './objects.js';
import { parseRequest } from './requests.js';

type PolicyParams = { Params: { name: string }; Querystring: { Qualifier?: string; RevisionId?: string } };

const AddPermissionRequest = z.object({
  StatementId: z.string().min(1).max(100),
  Action: z.string().min(1),
  Principal: z.string().min(1),
  SourceArn: z.string().optional(),
  SourceAccount: z.string().optional(),
  EventSourceToken: z.string().optional(),
  RevisionId: z.string().optional(),
  PrincipalOrgID: z.string().optional(),
  FunctionUrlAuthType: z.string().optional(),
  InvokedViaFunctionUrl: z.boolean().optional(),
});

/** Label values hold 63 characters: a longer name cannot have carried a policy. */
const LABELLED_NAME_MAX = 63;

export function functionPolicyRoutes(app: FastifyInstance, ctx: ControlPlaneContext): void {
  /** The function a policy call names; versions and aliases have no policy of their own. */
  const target = (request: FastifyRequest<PolicyParams>): FunctionReference => {
    const ref = ctx.ref(request, request.params.name, request.query.Qualifier);
    if (ref.qualifier !== undefined) {
      throw new InvalidParameterValueException(
        'Lamina keeps one policy per function: the RBAC verb "invoke" names the function, and every ' +
          'version and alias of it is invoked under that grant. Omit the qualifier.',
      );
    }
    return ref;
  };
  const checkRevision = (metadata: { uid?: string; generation?: number }, given?: string) => {
    if (given !== undefined && revisionIdOf(metadata) !== given)
      throw PreconditionFailedException.revision(given);
  };

  app.post<PolicyParams>(
    '/2015-03-31/functions/:name/policy',
    { config: { operation: 'AddPermission' } },
    async (request, reply) => {
      const body = parseRequest(AddPermissionRequest, request.body);
      const ref = target(request);
      await ctx.authorize(request, 'AddPermission', 'update', 'functions', ref.namespace, ref.name);
      await ctx.authorize(request, 'AddPermission', 'invoke', 'functions', ref.namespace, ref.name);
      const fn = await ctx.functionOrNotFound(ref);
      checkRevision(fn.metadata, body.RevisionId);
      const statement = statementOf(body, functionArn(ctx.region, ref.namespace, ref.name));
      const binding = statementBinding(fn, statement, body.Principal);
      const policies = ctx.objects.policies;

      const role = await kube('the invoke Role', () =>
        policies.getRole(ref.namespace, invokeRoleName(ref.name)),
      );
      if (role && !isInvokeRole(role, ref.name)) {
        throw new ResourceConflictException(
          `Role ${invokeRoleName(ref.name)} in namespace ${ref.namespace} grants more than invoke on ` +
            `function ${ref.name}; Lamina will not bind principals to it. Rename or remove that Role.`,
        );
      }
      if (!role) {
        try {
          await policies.createRole(ref.namespace, invokeRole(fn));
        } catch (err) {
          // Made meanwhile by a concurrent AddPermission: the same Role.
          if (!isAlreadyExists(err)) throw kubeErrorAsLambda(err, 'the invoke Role');
        }
      }
      try {
        await policies.createBinding(ref.namespace, binding);
      } catch (err) {
        if (isAlreadyExists(err)) {
          throw new ResourceConflictException(
            `The statement id (${statement.Sid}) provided already exists. Please provide a new statement id, or remove the existing statement.`,
          );
        }
        throw kubeErrorAsLambda(err, 'the policy statement');
      }
      return reply.code(201).send({ Statement: JSON.stringify(statement) });
    },
  );

  app.delete<PolicyParams & { Params: { statement: string } }>(
    '/2015-03-31/functions/:name/policy/:statement',
    { config: { operation: 'RemovePermission' } },
    async (request, reply) => {
      const ref = target(request);
      await ctx.authorize(request, 'RemovePermission', 'update', 'functions', ref.namespace, ref.name);
      const fn = await ctx.functionOrNotFound(ref);
      checkRevision(fn.metadata, request.query.RevisionId);
      const sid = request.params.statement;
      const missing = () =>
        new ResourceNotFoundException(`Statement ${sid} is not found in resource policy.`);
      const name = statementBindingName(ref.name, sid);
      const binding = await kube('the policy statement', () =>
        ctx.objects.policies.getBinding(ref.namespace, name),
      );
      if (!binding || !bindingStatement(binding, ref.name)) throw missing();
      try {
        await ctx.objects.policies.deleteBinding(ref.namespace, name);
      } catch (err) {
        const lambda = kubeErrorAsLambda(err, 'the policy statement');
        throw lambda instanceof ResourceNotFoundException ? missing() : lambda;
      }
      return reply.code(204).send();
    },
  );

  app.get<PolicyParams>(
    '/2015-03-31/functions/:name/policy',
    { config: { operation: 'GetPolicy' } },
    async (request) => {
      const ref = target(request);
      await ctx.authorize(request, 'GetPolicy', 'get', 'functions', ref.namespace, ref.name);
      const fn = await ctx.functionOrNotFound(ref);
      const bindings =
        ref.name.length > LABELLED_NAME_MAX
          ? []
          : await kube('the policy statements', () =>
              ctx.objects.policies.listBindings(ref.namespace, `${POLICY_FUNCTION_LABEL}=${ref.name}`),
            );
      const statements = bindings.flatMap((b) => bindingStatement(b, ref.name) ?? []);
      if (!statements.length)
        throw new ResourceNotFoundException('The resource you requested does not exist.');
      return { Policy: policyDocument(statements), RevisionId: revisionIdOf(fn.metadata) };
    },
  );
}
