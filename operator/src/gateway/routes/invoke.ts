// Lambda's Invoke API: POST /2015-03-31/functions/{FunctionName}/invocations (LAMBDA-SPEC §1).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  InvalidRequestContentException,
  RequestEntityTooLargeException,
  ServiceException,
  ValidationException,
} from '../../errors.js';
import {
  INVALID_CLIENT_CONTEXT_MESSAGE,
  isValidClientContext,
  normalizePayload,
  traceIdFromHeaders,
} from '../../protocol/index.js';
import type { AsyncQueue } from '../async/async-queue.js';
import type { CallerNamespace } from '../../kube/index.js';
import type { InvokeAuthorizer } from '../auth/lambda-auth.js';
import type { InvocationType, InvokePort } from '../dispatch/invoker.js';
import { resolveFunctionReference } from '../../api/index.js';
import { acceptRawBodies, bodyOf, randomHex } from '../../shared/index.js';
import { writeWithBackpressure } from './backpressure.js';
import { invokeComplete, payloadChunk } from '../events/event-stream.js';

export interface InvokeRouteOptions {
  invoker: InvokePort;
  syncPayloadLimitBytes: number;
  asyncPayloadLimitBytes: number;
  asyncQueue?: AsyncQueue;
  now: () => number;
  /** Callers must be allowed to invoke (checked before the function is looked up). */
  auth?: { authorizer: InvokeAuthorizer };
  /** Where the caller's bare function names resolve. */
  bareNames: CallerNamespace;
}

const INVOCATION_TYPES = ['Event', 'RequestResponse', 'DryRun'] as const;
const LOG_TYPES = ['None', 'Tail'] as const;

/** The Invoke request as the route declares it; fastify validates it before the handler. */
const INVOKE_SCHEMA = {
  params: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
  querystring: { type: 'object', properties: { Qualifier: {} } },
  headers: {
    type: 'object',
    properties: {
      'x-amz-invocation-type': { type: 'string', enum: INVOCATION_TYPES },
      'x-amz-log-type': { type: 'string', enum: LOG_TYPES },
      'x-amz-client-context': { type: 'string' },
      'x-amzn-trace-id': { type: 'string' },
    },
  },
} as const;

/** InvokeWithResponseStream takes RequestResponse or DryRun. */
const STREAM_SCHEMA = {
  ...INVOKE_SCHEMA,
  headers: {
    ...INVOKE_SCHEMA.headers,
    properties: {
      ...INVOKE_SCHEMA.headers.properties,
      'x-amz-invocation-type': { type: 'string', enum: ['RequestResponse', 'DryRun'] },
    },
  },
} as const;

/** Lambda's member name for each validated header, as its ValidationException names it. */
const HEADER_MEMBERS: Record<string, { member: string; values: readonly string[] }> = {
  'x-amz-invocation-type': { member: 'invocationType', values: INVOCATION_TYPES },
  'x-amz-log-type': { member: 'logType', values: LOG_TYPES },
};

function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The schema's first complaint, in Lambda's words. */
function validationError(request: FastifyRequest, error: Error & { validation?: unknown }): Error {
  const [first] = (error.validation ?? []) as Array<{ instancePath?: string }>;
  const header = (first?.instancePath ?? '').replace(/^\//, '');
  const known = HEADER_MEMBERS[header];
  if (!known) return new InvalidRequestContentException(error.message);
  return ValidationException.enumValue(headerValue(request, header) ?? '', known.member, known.values);
}

function clientContext(request: FastifyRequest): string | undefined {
  const value = headerValue(request, 'x-amz-client-context');
  if (value === undefined || value === '') return undefined;
  if (!isValidClientContext(value)) throw new InvalidRequestContentException(INVALID_CLIENT_CONTEXT_MESSAGE);
  return value;
}

/** Lambda only accepts JSON payloads; an empty one is the event `{}`. */
function jsonPayload(body: Buffer): Buffer {
  if (body.length === 0) return normalizePayload(body);
  try {
    // ignoreBOM keeps a BOM in the text, so it fails here instead of reaching the function.
    JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body));
  } catch (err) {
    throw new InvalidRequestContentException(
      `Could not parse request body into json: Could not parse payload into json: ${(err as Error).message}`,
    );
  }
  return body;
}

interface InvokeRoute {
  Params: { name: string };
  Querystring: { Qualifier?: string };
  Headers: { 'x-amz-invocation-type'?: InvocationType; 'x-amz-log-type'?: (typeof LOG_TYPES)[number] };
}

export async function invokeRoutes(app: FastifyInstance, options: InvokeRouteOptions): Promise<void> {
  const { invoker, asyncQueue } = options;
  acceptRawBodies(app, options.syncPayloadLimitBytes);

  /** The function a request names, in the caller's namespace, once the caller may invoke it. */
  const authorizedTarget = async (request: FastifyRequest<InvokeRoute>) => {
    const namespace = await options.bareNames.of(request.headers);
    if (options.auth) {
      // Before the lookup, so an unauthorised caller cannot tell which functions exist.
      const ref = resolveFunctionReference(request.params.name, request.query.Qualifier, namespace);
      await options.auth.authorizer.authorizeInvoke(request.headers, ref.namespace, ref.name);
    }
    return invoker.resolve(request.params.name, request.query.Qualifier, namespace);
  };

  app.post<InvokeRoute>(
    '/2015-03-31/functions/:name/invocations',
    { bodyLimit: options.syncPayloadLimitBytes, schema: INVOKE_SCHEMA, attachValidation: true },
    async (request, reply: FastifyReply) => {
      if (request.validationError) throw validationError(request, request.validationError);
      const type = request.headers['x-amz-invocation-type'] ?? 'RequestResponse';
      const tail = request.headers['x-amz-log-type'] === 'Tail';
      const target = await authorizedTarget(request);
      const payload = jsonPayload(bodyOf(request.body));
      const context = clientContext(request);
      // Lambda always traces: the caller's X-Amzn-Trace-Id or traceparent, else a new root.
      const traceId = traceIdFromHeaders(request.headers, options.now(), randomHex);

      if (type === 'DryRun') return reply.code(204).send();

      if (type === 'Event') {
        if (payload.length > options.asyncPayloadLimitBytes) {
          throw RequestEntityTooLargeException.forEvent(payload.length, options.asyncPayloadLimitBytes);
        }
        if (!asyncQueue) {
          throw new ServiceException(
            'Asynchronous invocation is not available: this gateway has no event queue.',
          );
        }
        await asyncQueue.enqueue({
          requestId: request.id,
          namespace: target.namespace,
          functionName: target.functionName,
          ...(target.alias !== undefined
            ? { qualifier: target.alias }
            : target.version !== '$LATEST'
              ? { qualifier: target.version }
              : {}),
          invokedFunctionArn: target.invokedFunctionArn,
          payload,
          receivedAt: options.now(),
          traceId,
        });
        return reply.code(202).send();
      }

      const outcome = await invoker.invoke(target, payload, {
        requestId: request.id,
        invocationType: 'RequestResponse',
        tail,
        ...(context ? { clientContext: context } : {}),
        traceId,
      });
      reply.code(200).header('content-type', 'application/json');
      reply.header('X-Amz-Executed-Version', outcome.executedVersion);
      if (outcome.functionError) reply.header('X-Amz-Function-Error', outcome.functionError);
      if (outcome.logResult) reply.header('X-Amz-Log-Result', outcome.logResult);
      return reply.send(outcome.payload);
    },
  );

  // InvokeWithResponseStream: the response as AWS event-stream messages, PayloadChunk by
  // PayloadChunk as the function writes, then InvokeComplete with how it ended.
  app.post<InvokeRoute>(
    '/2021-11-15/functions/:name/response-streaming-invocations',
    { bodyLimit: options.syncPayloadLimitBytes, schema: STREAM_SCHEMA, attachValidation: true },
    async (request, reply: FastifyReply) => {
      if (request.validationError) throw validationError(request, request.validationError);
      const target = await authorizedTarget(request);
      const payload = jsonPayload(bodyOf(request.body));
      const context = clientContext(request);
      if (request.headers['x-amz-invocation-type'] === 'DryRun') return reply.code(204).send();

      const out = reply.raw;
      let started = false;
      const stream = {
        // The 200 goes out once the environment answers; errors before that are the usual ones.
        start: () => {
          started = true;
          reply.hijack();
          out.writeHead(200, {
            'content-type': 'application/vnd.amazon.eventstream',
            'x-amz-executed-version': target.version,
            'x-amzn-requestid': request.id,
          });
          out.flushHeaders();
        },
        write: (chunk: Buffer) => writeWithBackpressure(out, payloadChunk(chunk)),
      };
      let outcome;
      try {
        outcome = await invoker.invoke(target, payload, {
          requestId: request.id,
          invocationType: 'RequestResponse',
          tail: request.headers['x-amz-log-type'] === 'Tail',
          ...(context ? { clientContext: context } : {}),
          traceId: traceIdFromHeaders(request.headers, options.now(), randomHex),
          stream,
        });
      } catch (err) {
        if (!started) throw err;
        // The stream is open: the failure can only be its last event.
        out.end(invokeComplete({ ErrorCode: 'ServiceException', ErrorDetails: (err as Error).message }));
        return reply;
      }
      if (!started) stream.start();
      out.end(
        invokeComplete({
          ...(outcome.functionError
            ? { ErrorCode: outcome.functionError, ErrorDetails: outcome.payload.toString('utf8') }
            : {}),
          ...(outcome.logResult ? { LogResult: outcome.logResult } : {}),
        }),
      );
      return reply;
    },
  );
}
