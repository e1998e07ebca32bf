// Lamina's Node.js runtime client (nodejs20.x). It speaks only the Lambda Runtime API, so the
// agent treats it like any custom runtime. The programming model follows AWS's client:
// async handlers, callback handlers (`(event, context, callback)` with
// callbackWaitsForEmptyEventLoop), init errors posted to /init/error, and exit code 129
// after a fatal error (uncaught exception, unhandled rejection).
import { buildContext } from './context.mjs';
import { logError, patchConsole, setRequestId } from './console-patch.mjs';
import { NodeJsExit, toRapidResponse, UnhandledPromiseRejection } from './errors.mjs';
import { RapidClient } from './rapid-client.mjs';
import { adoptFunctionEnvironment } from './standby.mjs';
import { createResponseStream, installAwsLambdaGlobal, isStreamingHandler } from './streaming.mjs';
import { loadHandler } from './user-function.mjs';

const FATAL_EXIT_CODE = 129;

if (process.env.LAMINA_STANDBY) await adoptFunctionEnvironment();
const client = new RapidClient(process.env.AWS_LAMBDA_RUNTIME_API);
patchConsole();

// Until the first invocation, a fatal error is an Init error; afterwards it fails the
// invocation in flight. Either way the process then exits, and the agent resets it.
let reportFatal = (error) => client.postInitError(toRapidResponse(error));
const die = (error) =>
  reportFatal(error)
    .catch(() => {})
    .finally(() => process.exit(FATAL_EXIT_CODE));

process.on('uncaughtException', (error) => {
  logError('Uncaught Exception', error);
  die(error);
});
process.on('unhandledRejection', (reason) => {
  const error = new UnhandledPromiseRejection(reason);
  logError('Unhandled Promise Rejection', error);
  die(error);
});

// 'beforeExit' fires when the event loop runs dry: that is how a callback handler's
// "wait for the empty event loop" and a never-settled promise are detected.
let onEmptyEventLoop = () => {};
process.on('beforeExit', () => onEmptyEventLoop());

let handler;
installAwsLambdaGlobal();
try {
  handler = await loadHandler(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), process.env._HANDLER ?? '');
} catch (error) {
  logError('Uncaught Exception', error);
  await die(error);
}
const handlerIsAsync = handler.constructor?.name === 'AsyncFunction';
const handlerStreams = isStreamingHandler(handler);

const scheduleNext = () => setImmediate(() => invokeOnce().catch(die));

async function invokeOnce() {
  const { body, headers } = await client.next();
  const requestId = headers['lambda-runtime-aws-request-id'];
  setRequestId(requestId);
  if (headers['lambda-runtime-trace-id']) process.env._X_AMZN_TRACE_ID = headers['lambda-runtime-trace-id'];
  else delete process.env._X_AMZN_TRACE_ID;
  if (handlerStreams) return invokeStreaming(JSON.parse(body.toString('utf8')), headers, requestId);
  reportFatal = (error) => client.postError(requestId, toRapidResponse(error));

  const postError = (error) => {
    logError('Invoke Error', error);
    client.postError(requestId, toRapidResponse(error)).then(scheduleNext, die);
  };
  const complete = (result) => {
    let text;
    try {
      text = JSON.stringify(result === undefined ? null : result);
    } catch {
      return postError(new Error('Unable to stringify response body'));
    }
    client.postResponse(requestId, text ?? 'null').then(scheduleNext, die);
  };

  let waitForEmptyEventLoop = true;
  let finished = false;
  // Only the first of callback / succeed / fail / done counts.
  const once =
    (fn) =>
    (...args) => {
      if (finished) return;
      finished = true;
      fn(...args);
    };
  const done = (error, result) => {
    onEmptyEventLoop = () => {};
    if (error !== undefined && error !== null) postError(error);
    else complete(result);
  };
  const callback = once((error, result) => {
    onEmptyEventLoop = () => {};
    if (error !== undefined && error !== null) postError(error);
    else if (!waitForEmptyEventLoop) complete(result);
    else onEmptyEventLoop = () => setImmediate(() => complete(result));
  });
  const controls = {
    get callbackWaitsForEmptyEventLoop() {
      return waitForEmptyEventLoop;
    },
    set callbackWaitsForEmptyEventLoop(value) {
      waitForEmptyEventLoop = value;
    },
    succeed: once((result) => done(null, result)),
    fail: once((error) => done(error ?? 'handled')),
    done: once(done),
  };
  // The loop ran dry and nobody answered: an async handler's promise never settled, or a
  // sync handler forgot its callback (which answers null, as AWS's client does).
  onEmptyEventLoop = () => {
    onEmptyEventLoop = () => {};
    if (finished) return;
    finished = true;
    if (handlerIsAsync) postError(new NodeJsExit());
    else complete(null);
  };

  try {
    const context = buildContext(headers, controls);
    const result = handler(JSON.parse(body.toString('utf8')), context, callback);
    if (result && typeof result.then === 'function') result.then(controls.succeed, controls.fail);
  } catch (error) {
    callback(error);
  }
}

/**
 * A handler wrapped in awslambda.streamifyResponse: `(event, responseStream, context)`, async.
 * Its invocation is over once it has settled and ended the stream; an error (thrown, rejected,
 * or an unfinished stream) ends the stream with the error trailers.
 */
async function invokeStreaming(event, headers, requestId) {
  const { stream, done, fail } = createResponseStream(client.streamTarget, requestId, handler);
  const failWith = (error) => {
    logError('Invoke Error', error);
    fail(error);
  };
  reportFatal = (error) => {
    fail(error);
    return done;
  };
  let waitForEmptyEventLoop = true;
  const controls = {
    get callbackWaitsForEmptyEventLoop() {
      return waitForEmptyEventLoop;
    },
    set callbackWaitsForEmptyEventLoop(value) {
      waitForEmptyEventLoop = value;
    },
  };
  let settled = false;
  onEmptyEventLoop = () => {
    onEmptyEventLoop = () => {};
    if (!settled) failWith(new NodeJsExit());
  };
  try {
    const result = handler(event, stream, buildContext(headers, controls));
    if (!result || typeof result.then !== 'function') {
      failWith(new Error('Streaming does not support non-async handlers.'));
    } else {
      if ((await result) !== undefined) console.warn('Streaming handlers ignore return values.');
      if (!stream.writableEnded) failWith(new Error('Response stream is not finished.'));
    }
  } catch (error) {
    failWith(error);
  }
  settled = true;
  onEmptyEventLoop = () => {};
  const answer = await done;
  if (answer.status !== 202) {
    process.stderr.write(
      `lamina runtime: posting the response stream returned ${answer.status}: ${answer.body}\n`,
    );
  }
  scheduleNext();
}

scheduleNext();
