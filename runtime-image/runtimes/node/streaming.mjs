// Response streaming in the Node.js runtime, as AWS's client offers it: the `awslambda`
// global (streamifyResponse, HttpResponseStream), and the response stream a streaming handler
// writes to — one chunked POST to the Runtime API in `streaming` response mode, an error
// ending it with the Lambda-Runtime-Function-Error-Type/-Body trailers.
import http from 'node:http';
import { toRapidResponse } from './errors.mjs';

/** The markers AWS's client and middleware libraries (middy, Powertools) look for. */
const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HANDLER_HIGHWATERMARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
const STREAM_RESPONSE = 'response';

const PRELUDE_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
const PRELUDE_DELIMITER_BYTES = 8;
const TRAILER_ERROR_TYPE = 'Lambda-Runtime-Function-Error-Type';
const TRAILER_ERROR_BODY = 'Lambda-Runtime-Function-Error-Body';

export class InvalidStreamingOperation extends Error {
  constructor(message) {
    super(message);
    this.name = 'Runtime.InvalidStreamingOperation';
  }
}

/** `application/vnd.awslambda.http-integration-response`: JSON metadata, 8 NUL bytes, the body. */
export class HttpResponseStream {
  static from(underlyingStream, prelude) {
    underlyingStream.setContentType(PRELUDE_CONTENT_TYPE);
    const metadata = JSON.stringify(prelude);
    underlyingStream._onBeforeFirstWrite = (write) => {
      write(metadata);
      write(new Uint8Array(PRELUDE_DELIMITER_BYTES));
    };
    return underlyingStream;
  }
}

/** Defines `globalThis.awslambda` unless AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA opts out. */
export function installAwsLambdaGlobal() {
  const optOut = process.env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA;
  if (optOut === '1' || optOut === 'true') return;
  globalThis.awslambda = {
    streamifyResponse(handler, options) {
      handler[HANDLER_STREAMING] = STREAM_RESPONSE;
      if (typeof options?.highWaterMark === 'number') {
        handler[HANDLER_HIGHWATERMARK] = parseInt(options.highWaterMark, 10);
      }
      return handler;
    },
    HttpResponseStream,
  };
}

export const isStreamingHandler = (handler) => handler?.[HANDLER_STREAMING] === STREAM_RESPONSE;

/**
 * Opens the invocation's streaming response. Returns the writable the handler gets, `done`
 * (settles when the agent answered the POST) and `fail(error)` (ends the stream with the error
 * trailers; a no-op once it has ended).
 */
export function createResponseStream({ hostname, port, agent }, requestId, handler) {
  const highWaterMark = handler?.[HANDLER_HIGHWATERMARK];
  let wrote = false;
  let resolveDone;
  let rejectDone;
  const done = new Promise((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  const req = http.request(
    {
      hostname,
      port,
      agent,
      method: 'POST',
      path: `/2018-06-01/runtime/invocation/${encodeURIComponent(requestId)}/response`,
      ...(typeof highWaterMark === 'number' ? { highWaterMark } : {}),
      headers: {
        'Lambda-Runtime-Function-Response-Mode': 'streaming',
        'Content-Type': 'application/octet-stream',
        // Chunked even when nothing is written, so the error trailers always have a place.
        'Transfer-Encoding': 'chunked',
        Trailer: `${TRAILER_ERROR_TYPE}, ${TRAILER_ERROR_BODY}`,
      },
    },
    (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolveDone({ status: res.statusCode, body: Buffer.concat(chunks) }));
      res.on('error', rejectDone);
    },
  );
  req.on('error', rejectDone);

  req.setContentType = (contentType) => {
    if (wrote) throw new InvalidStreamingOperation('Cannot set content-type, too late.');
    req.setHeader('Content-Type', contentType);
  };
  const write = req.write.bind(req);
  const end = req.end.bind(req);
  const beforeFirstWrite = () => {
    if (wrote) return;
    wrote = true;
    if (typeof req._onBeforeFirstWrite === 'function') req._onBeforeFirstWrite((chunk) => write(chunk));
  };
  req.write = (chunk, encoding, callback) => {
    if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) chunk = JSON.stringify(chunk);
    beforeFirstWrite();
    return write(chunk, encoding, callback);
  };
  req.end = (chunk, encoding, callback) => {
    if (typeof chunk === 'function') return req.end(undefined, undefined, chunk);
    if (typeof encoding === 'function') return req.end(chunk, undefined, encoding);
    if (chunk !== undefined && chunk !== null) req.write(chunk, encoding);
    beforeFirstWrite(); // an HttpResponseStream with no body still sends its prelude
    return end(callback);
  };

  const fail = (error) => {
    if (req.writableEnded || req.destroyed) return;
    const response = toRapidResponse(error);
    req.addTrailers({
      [TRAILER_ERROR_TYPE]: response.errorType,
      [TRAILER_ERROR_BODY]: Buffer.from(JSON.stringify(response)).toString('base64'),
    });
    end();
  };
  return { stream: req, done, fail };
}
