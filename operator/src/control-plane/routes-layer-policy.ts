// AddLayerVersionPermission, RemoveLayerVersionPermission and GetLayerVersionPolicy, mapped
// onto the Layer's sharing (layer-policy.ts).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { InvalidParameterValueException, ResourceNotFoundException } from '../errors.js';
import { layerVersionArn, revisionIdOf } from './configuration.js';
import type { ControlPlaneContext } from './context.js';
import { liveVersions, parseLayerName } from './layer-mapping.js';
import {
  LAYER_POLICY_ANNOTATION,
  addStatement,
  policyOf,
  removeStatement,
  statementJson,
} from './layer-policy.js';
import { kube, patchAtRevision } from './objects.js';
import { parseRequest } from './requests.js';

type VersionParams = { Params: { layer: string; version: string }; Querystring: { RevisionId?: string } };

const AddLayerVersionPermissionRequest = z.object({
  StatementId: z.string().min(1).max(100),
  Action: z.string().min(1),
  Principal: z.string().min(1),
  OrganizationId: z.string().optional(),
  RevisionId: z.string().optional(),
});

export function layerPolicyRoutes(app: FastifyInstance, ctx: ControlPlaneContext): void {
  const target = async (request: FastifyRequest, layerName: string, versionText: string) => {
    const ref = parseLayerName(layerName, ctx.namespaceOf(request));
    if (!/^[0-9]+$/.test(versionText))
      throw new InvalidParameterValueException(`Invalid layer version: ${versionText}`);
    const version = Number(versionText);
    return { ref, version, arn: layerVersionArn(ctx.region, ref.namespace, ref.name, version) };
  };
  const liveLayer = async (namespace: string, name: string, version: number, arn: string) => {
    const layer = await kube('the layer', () => ctx.objects.layers.get(namespace, name));
    if (!layer || !liveVersions(layer).some((v) => v.version === version)) {
      throw new ResourceNotFoundException(`Layer version ${arn} does not exist.`);
    }
    return layer;
  };

  app.post<VersionParams>('/2018-10-31/layers/:layer/versions/:version/policy', async (request, reply) => {
    const body = parseRequest(AddLayerVersionPermissionRequest, request.body);
    const { ref, version, arn } = await target(request, request.params.layer, request.params.version);
    await ctx.authorize(request, 'AddLayerVersionPermission', 'update', 'layers', ref.namespace, ref.name);
    await liveLayer(ref.namespace, ref.name, version, arn);
    let statementId = '';
    const updated = await patchAtRevision(
      ctx.objects.layers,
      `Layer ${ref.name}`,
      ref.namespace,
      ref.name,
      (layer) => {
        const next = addStatement(
          policyOf(layer.metadata.annotations),
          layer.spec.sharing?.namespaces ?? [],
          body,
          version,
        );
        statementId = body.StatementId;
        return {
          metadata: { annotations: { [LAYER_POLICY_ANNOTATION]: JSON.stringify(next.policy) } },
          spec: { sharing: { namespaces: next.sharing } },
        };
      },
      body.RevisionId,
    );
    const statement = policyOf(updated.metadata.annotations)[statementId]!;
    return reply.code(201).send({
      Statement: JSON.stringify(statementJson(statementId, statement, arn)),
      RevisionId: revisionIdOf(updated.metadata),
    });
  });

  app.delete<VersionParams & { Params: { statement: string } }>(
    '/2018-10-31/layers/:layer/versions/:version/policy/:statement',
    async (request, reply) => {
      const { ref, version, arn } = await target(request, request.params.layer, request.params.version);
      await ctx.authorize(
        request,
        'RemoveLayerVersionPermission',
        'update',
        'layers',
        ref.namespace,
        ref.name,
      );
      await liveLayer(ref.namespace, ref.name, version, arn);
      await patchAtRevision(
        ctx.objects.layers,
        `Layer ${ref.name}`,
        ref.namespace,
        ref.name,
        (layer) => {
          const next = removeStatement(
            policyOf(layer.metadata.annotations),
            layer.spec.sharing?.namespaces ?? [],
            request.params.statement,
            version,
          );
          return {
            metadata: {
              annotations: {
                [LAYER_POLICY_ANNOTATION]: Object.keys(next.policy).length
                  ? JSON.stringify(next.policy)
                  : null,
              },
            },
            spec: { sharing: next.sharing.length ? { namespaces: next.sharing } : null },
          };
        },
        request.query.RevisionId,
      );
      return reply.code(204).send();
    },
  );

  app.get<VersionParams>('/2018-10-31/layers/:layer/versions/:version/policy', async (request) => {
    const { ref, version, arn } = await target(request, request.params.layer, request.params.version);
    await ctx.authorize(request, 'GetLayerVersionPolicy', 'get', 'layers', ref.namespace, ref.name);
    const layer = await liveLayer(ref.namespace, ref.name, version, arn);
    const statements = Object.entries(policyOf(layer.metadata.annotations)).filter(
      ([, s]) => s.version === version,
    );
    if (!statements.length)
      throw new ResourceNotFoundException('No policy is associated with the given resource.');
    return {
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Id: 'default',
        Statement: statements.map(([sid, s]) => statementJson(sid, s, arn)),
      }),
      RevisionId: revisionIdOf(layer.metadata),
    };
  });
}
