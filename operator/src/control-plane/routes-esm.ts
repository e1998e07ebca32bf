// Event source mappings: CreateEventSourceMapping, GetEventSourceMapping,
// UpdateEventSourceMapping, DeleteEventSourceMapping, ListEventSourceMappings onto
// EventSourceMapping objects in the caller's namespace. A mapping's UUID is its object's uid;
// the operator reports its State, the pollers its LastProcessingResult.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { EventSourceMapping } from '../api/index.js';
import { InvalidParameterValueException, ResourceNotFoundException } from '../errors.js';
import type { ControlPlaneContext } from './context.js';
import {
  type EsmRequest,
  esmJson,
  EVENT_SOURCE_ARN,
  settingsOf,
  sourceOf,
  validSpec,
} from './esm-mapping.js';
import { kube } from './objects.js';
import { paginate, parseMaxItems } from './pagination.js';

const PATH = '/2015-03-31/event-source-mappings';
type UuidParams = { Params: { uuid: string } };
type ListQuery = {
  Querystring: { FunctionName?: string; EventSourceArn?: string; Marker?: string; MaxItems?: string };
};

const FUNCTION_LABEL = 'lamina.dev/function';

export function eventSourceMappingRoutes(app: FastifyInstance, ctx: ControlPlaneContext): void {
  const region = ctx.region;
  const objects = () => ctx.objects.eventSourceMappings;

  const body = (request: FastifyRequest): EsmRequest => {
    const value = request.body;
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw new InvalidParameterValueException('The request body must be a JSON object.');
    return value as EsmRequest;
  };

  /** A function reference (name, partial or full ARN, optional qualifier) as spec.functionName. */
  const functionNameOf = (request: FastifyRequest, value: string | undefined) => {
    if (!value) throw new InvalidParameterValueException('FunctionName is required.');
    const ref = ctx.ref(request, value);
    if (ref.namespace !== ctx.namespaceOf(request))
      throw new InvalidParameterValueException(
        'An event source mapping invokes a function in its own namespace.',
      );
    return { ref, functionName: ref.qualifier ? `${ref.name}:${ref.qualifier}` : ref.name };
  };

  const byUuid = async (request: FastifyRequest, uuid: string): Promise<EventSourceMapping> => {
    const namespace = ctx.namespaceOf(request);
    const all = await kube('the event source mappings', () => objects().list(namespace));
    const found = all.find((m) => m.metadata.uid === uuid);
    if (!found)
      throw new ResourceNotFoundException(
        `The resource you requested does not exist. (Service: Lambda; UUID: ${uuid})`,
      );
    return found;
  };

  const create = async (request: FastifyRequest, reply: FastifyReply) => {
    const members = body(request);
    const namespace = ctx.namespaceOf(request);
    await ctx.authorize(request, 'CreateEventSourceMapping', 'create', 'eventsourcemappings', namespace);
    const { ref, functionName } = functionNameOf(request, members.FunctionName);
    await ctx.qualified(ref);
    const { source, arn } = sourceOf(members);
    const spec = validSpec({ functionName, source, ...settingsOf(members, namespace, false) });
    const name = `${ref.name
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-')
      .slice(0, 50)}-${randomBytes(4).toString('hex')}`;
    const created = await kube('the event source mapping', () =>
      objects().create(namespace, {
        metadata: {
          name,
          namespace,
          labels: { [FUNCTION_LABEL]: ref.name },
          ...(arn && { annotations: { [EVENT_SOURCE_ARN]: arn } }),
        },
        spec,
      }),
    );
    return reply.code(202).send(esmJson(created, region));
  };
  // The SDKs call the collection without a trailing slash, the AWS CLI with one.
  for (const url of [PATH, `${PATH}/`]) {
    app.post(url, { config: { operation: 'CreateEventSourceMapping' } }, create);
    app.get<ListQuery>(url, (request) => list(request));
  }

  app.get<UuidParams>(`${PATH}/:uuid`, async (request) => {
    await ctx.authorize(
      request,
      'GetEventSourceMapping',
      'get',
      'eventsourcemappings',
      ctx.namespaceOf(request),
    );
    return esmJson(await byUuid(request, request.params.uuid), region);
  });

  app.put<UuidParams>(
    `${PATH}/:uuid`,
    { config: { operation: 'UpdateEventSourceMapping' } },
    async (request, reply) => {
      const members = body(request);
      const namespace = ctx.namespaceOf(request);
      await ctx.authorize(request, 'UpdateEventSourceMapping', 'update', 'eventsourcemappings', namespace);
      const current = await byUuid(request, request.params.uuid);
      const patch: Record<string, unknown> = settingsOf(members, namespace, true);
      if (members.FunctionName !== undefined) {
        const { ref, functionName } = functionNameOf(request, members.FunctionName);
        await ctx.qualified(ref);
        patch.functionName = functionName;
      }
      const merged = Object.fromEntries(
        Object.entries({ ...current.spec, ...patch }).filter(([, v]) => v !== null && v !== undefined),
      );
      validSpec(merged);
      const updated = await kube('the event source mapping', () =>
        objects().patch(namespace, current.metadata.name, { spec: patch }, current.metadata.resourceVersion),
      );
      return reply.code(202).send(esmJson(updated, region));
    },
  );

  app.delete<UuidParams>(`${PATH}/:uuid`, async (request, reply) => {
    const namespace = ctx.namespaceOf(request);
    await ctx.authorize(request, 'DeleteEventSourceMapping', 'delete', 'eventsourcemappings', namespace);
    const current = await byUuid(request, request.params.uuid);
    await kube('the event source mapping', () => objects().delete(namespace, current.metadata.name));
    return reply.code(202).send({ ...esmJson(current, region), State: 'Deleting' });
  });

  async function list(request: FastifyRequest<ListQuery>) {
    const namespace = ctx.namespaceOf(request);
    await ctx.authorize(request, 'ListEventSourceMappings', 'list', 'eventsourcemappings', namespace);
    const { FunctionName, EventSourceArn, Marker, MaxItems } = request.query;
    const wanted = FunctionName ? functionNameOf(request, FunctionName) : undefined;
    const all = (await kube('the event source mappings', () => objects().list(namespace))).filter((m) => {
      if (wanted) {
        const [name] = m.spec.functionName.split(':');
        const exact = wanted.ref.qualifier !== undefined;
        if (exact ? m.spec.functionName !== wanted.functionName : name !== wanted.ref.name) return false;
      }
      return !EventSourceArn || esmJson(m, region).EventSourceArn === EventSourceArn;
    });
    const page = paginate(all, (m) => m.metadata.uid ?? '', Marker, parseMaxItems(MaxItems, 100));
    return {
      EventSourceMappings: page.items.map((m) => esmJson(m, region)),
      ...(page.nextMarker && { NextMarker: page.nextMarker }),
    };
  }
}
