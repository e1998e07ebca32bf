// Layers: PublishLayerVersion, GetLayerVersion, GetLayerVersionByArn, ListLayers,
// ListLayerVersions, DeleteLayerVersion (LAMBDA-SPEC §4, §10). A Layer object holds every
// version of one layer: publishing sets its content digest and the operator records version
// N+1; deleting marks the number in spec.deletedVersions (functions that pinned it keep it).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Layer, LayerVersionRecord } from '../api/index.js';
import { InvalidParameterValueException, ResourceNotFoundException, ServiceException } from '../errors.js';
import { credentialFrom } from '../kube/index.js';
import { storeZip, zipBytesOf } from './code.js';
import type { ControlPlaneContext } from './context.js';
import { codeLocation } from './downloads.js';
import {
  layerArn,
  layerSpecMembers,
  layerVersionJson,
  liveVersions,
  parseLayerName,
} from './layer-mapping.js';
import { kube, patchAtRevision } from './objects.js';
import { paginate, parseMaxItems } from './pagination.js';
import { parseRequest, PublishLayerVersionRequest } from './requests.js';

type LayerParams = { Params: { layer: string } };
type VersionParams = { Params: { layer: string; version: string } };
type ListQuery = {
  Querystring: {
    Marker?: string;
    MaxItems?: string;
    CompatibleRuntime?: string;
    CompatibleArchitecture?: string;
    find?: string;
    Arn?: string;
  };
};

const POLL_MS = 200;

export function layerRoutes(app: FastifyInstance, ctx: ControlPlaneContext, uploadLimit: number): void {
  const region = ctx.region;

  const withLocation = (request: FastifyRequest, layer: Layer, record: LayerVersionRecord) => {
    const json = layerVersionJson(layer, record, region);
    return { ...json, Content: { Location: codeLocation(ctx, request, record.sha256), ...json.Content } };
  };

  const layerVersion = async (namespace: string, name: string, version: number) => {
    const layer = await kube('the layer', () => ctx.objects.layers.get(namespace, name));
    const record = layer && liveVersions(layer).find((v) => v.version === version);
    if (!layer || !record) {
      throw new ResourceNotFoundException(
        `Layer version ${layerArn(region, namespace, name)}:${version} does not exist.`,
      );
    }
    return { layer, record };
  };

  const versionNumber = (value: string) => {
    if (!/^[0-9]+$/.test(value)) throw new InvalidParameterValueException(`Invalid layer version: ${value}`);
    return Number(value);
  };

  /** Waits for the operator to record the version holding `sha256` for this spec. */
  const recorded = async (namespace: string, name: string, generation: number, sha256: string) => {
    const deadline = ctx.options.now() + ctx.options.publishTimeoutMs;
    for (;;) {
      const layer = await kube('the layer', () => ctx.objects.layers.get(namespace, name));
      if (!layer) throw new ResourceNotFoundException(`Layer ${name} was deleted while publishing.`);
      if ((layer.status?.observedGeneration ?? 0) >= generation) {
        const record = [...(layer.status?.versions ?? [])].reverse().find((v) => v.sha256 === sha256);
        if (record) return { layer, record };
        if (layer.status?.state === 'Failed') {
          throw new InvalidParameterValueException(
            layer.status.stateReason ?? 'The layer could not be published.',
          );
        }
      }
      if (ctx.options.now() > deadline) {
        throw new ServiceException(
          `The Lamina operator did not record the layer version within ${ctx.options.publishTimeoutMs} ms; is it running?`,
        );
      }
      await ctx.options.sleep(POLL_MS);
    }
  };

  app.post<LayerParams>(
    '/2018-10-31/layers/:layer/versions',
    { bodyLimit: uploadLimit, config: { operation: 'PublishLayerVersion' } },
    async (request, reply) => {
      const body = parseRequest(PublishLayerVersionRequest, request.body);
      const ref = parseLayerName(request.params.layer, ctx.namespaceOf(request));
      await ctx.authorize(request, 'PublishLayerVersion', 'create', 'layers', ref.namespace, ref.name);
      const members = layerSpecMembers(body);
      const bytes = zipBytesOf(body.Content, ctx.options.code);
      const credential = credentialFrom(request.headers);
      const code = await storeZip(
        ctx.options.store(credential.kind === 'token' ? credential.token : undefined),
        bytes,
      );
      const existing = await kube('the layer', () => ctx.objects.layers.get(ref.namespace, ref.name));
      let written: Layer;
      if (!existing) {
        written = await kube(`Layer ${ref.name}`, () =>
          ctx.objects.layers.create(ref.namespace, {
            metadata: { name: ref.name, namespace: ref.namespace },
            spec: { content: { sha256: code.sha256 }, ...members },
          }),
        );
      } else {
        written = await patchAtRevision(
          ctx.objects.layers,
          `Layer ${ref.name}`,
          ref.namespace,
          ref.name,
          () => ({
            spec: {
              content: { sha256: code.sha256, inline: null, zipUrl: null },
              description: members.description ?? null,
              compatibleRuntimes: members.compatibleRuntimes ?? null,
              compatibleArchitectures: members.compatibleArchitectures ?? null,
              licenseInfo: members.licenseInfo ?? null,
            },
          }),
        );
      }
      let result;
      try {
        result = await recorded(ref.namespace, ref.name, written.metadata.generation ?? 1, code.sha256);
      } catch (err) {
        // A layer this call created and the operator refused is not left behind.
        if (!existing) await kube('the layer', () => ctx.objects.layers.delete(ref.namespace, ref.name));
        throw err;
      }
      return reply.code(201).send(withLocation(request, result.layer, result.record));
    },
  );

  app.get<VersionParams>('/2018-10-31/layers/:layer/versions/:version', async (request) => {
    const ref = parseLayerName(request.params.layer, ctx.namespaceOf(request));
    await ctx.authorize(request, 'GetLayerVersion', 'get', 'layers', ref.namespace, ref.name);
    const { layer, record } = await layerVersion(
      ref.namespace,
      ref.name,
      versionNumber(request.params.version),
    );
    return withLocation(request, layer, record);
  });

  app.delete<VersionParams>('/2018-10-31/layers/:layer/versions/:version', async (request, reply) => {
    const ref = parseLayerName(request.params.layer, ctx.namespaceOf(request));
    const version = versionNumber(request.params.version);
    await ctx.authorize(request, 'DeleteLayerVersion', 'delete', 'layers', ref.namespace, ref.name);
    const layer = await kube('the layer', () => ctx.objects.layers.get(ref.namespace, ref.name));
    // Lambda answers 204 for a version that does not exist.
    if (layer && liveVersions(layer).some((v) => v.version === version)) {
      await patchAtRevision(ctx.objects.layers, `Layer ${ref.name}`, ref.namespace, ref.name, (current) => ({
        spec: { deletedVersions: [...new Set([...(current.spec.deletedVersions ?? []), version])] },
      }));
    }
    return reply.code(204).send();
  });

  app.get<LayerParams & ListQuery>('/2018-10-31/layers/:layer/versions', async (request) => {
    const ref = parseLayerName(request.params.layer, ctx.namespaceOf(request));
    await ctx.authorize(request, 'ListLayerVersions', 'get', 'layers', ref.namespace, ref.name);
    const maxItems = parseMaxItems(request.query.MaxItems, 50);
    const layer = await kube('the layer', () => ctx.objects.layers.get(ref.namespace, ref.name));
    const runtime = request.query.CompatibleRuntime;
    const records = (layer ? liveVersions(layer) : []).filter(
      (v) =>
        !runtime || (v.compatibleRuntimes ?? layer?.spec.compatibleRuntimes ?? []).includes(runtime as never),
    );
    // Newest first, as Lambda lists them: the key counts down.
    const page = paginate(records, (v) => String(1e9 - v.version), request.query.Marker, maxItems);
    return {
      LayerVersions: page.items.map((v) => {
        const { Content: _content, LayerArn: _arn, ...rest } = layerVersionJson(layer!, v, region);
        return rest;
      }),
      ...(page.nextMarker && { NextMarker: page.nextMarker }),
    };
  });

  app.get<ListQuery>('/2018-10-31/layers', async (request) => {
    if (request.query.find === 'LayerVersion') {
      // GetLayerVersionByArn
      const arn = request.query.Arn ?? '';
      const ref = parseLayerName(arn, ctx.namespaceOf(request), true);
      if (ref.version === undefined)
        throw new InvalidParameterValueException(`Invalid layer version ARN: ${arn}`);
      await ctx.authorize(request, 'GetLayerVersionByArn', 'get', 'layers', ref.namespace, ref.name);
      const { layer, record } = await layerVersion(ref.namespace, ref.name, ref.version);
      return withLocation(request, layer, record);
    }
    const namespace = ctx.namespaceOf(request);
    await ctx.authorize(request, 'ListLayers', 'list', 'layers', namespace);
    const maxItems = parseMaxItems(request.query.MaxItems, 50);
    const runtime = request.query.CompatibleRuntime;
    const layers = await kube('the layers', () => ctx.objects.layers.list(namespace));
    const entries = layers.flatMap((layer) => {
      const latest = liveVersions(layer)
        .filter(
          (v) =>
            !runtime ||
            (v.compatibleRuntimes ?? layer.spec.compatibleRuntimes ?? []).includes(runtime as never),
        )
        .at(-1);
      if (!latest || layer.metadata.deletionTimestamp) return [];
      const { Content: _content, LayerArn, ...version } = layerVersionJson(layer, latest, region);
      return [{ LayerName: layer.metadata.name, LayerArn, LatestMatchingVersion: version }];
    });
    const page = paginate(entries, (e) => e.LayerName, request.query.Marker, maxItems);
    return { Layers: page.items, ...(page.nextMarker && { NextMarker: page.nextMarker }) };
  });
}
