// The execution environment as the gateway sees it: one function, one invocation at a time.
// It drives Lambda's lifecycle [LAMBDA-SPEC §6-7]: specialisation (artifacts, then Init),
// Invoke, and Init retried inside the next invoke after a failure or a reset. The runtime
// process and the Runtime API live in the supervisor; this file decides states, answers and
// the START / END / REPORT framing of the log.
import {
  MAX_STREAMED_RESPONSE_BYTES,
  newTraceId,
  normalizePayload,
  type PhaseTimings,
} from '../../../operator/src/protocol/index.js';
import { randomBytes } from 'node:crypto';
import { installArtifacts } from './artifacts.js';
import { imageContainerGone } from './container-runtime.js';
import type { Clock } from './clock.js';
import { parseFunctionConfig, type FunctionConfig } from './config.js';
import {
  AlreadySpecializedError,
  EnvironmentBusyError,
  NotSpecializedError,
  SpecializationInProgressError,
} from './errors.js';
import { encodePayload, errorBody, platformError, responseTooLarge, timedOut } from './function-errors.js';
import {
  agentLog,
  endLine,
  FunctionLog,
  reportLine,
  setLogContext,
  startLine,
  timeoutLine,
  type Report,
} from './logs.js';
import { logStreamName } from './runtime-env.js';
import type { AgentSettings } from './settings.js';
import type { ResponseSink } from './runtime-api.js';
import { RuntimeSupervisor, type InitFailure, type InvocationEnd } from './supervisor.js';
import { platformRecords, type InvokeStatus } from './telemetry.js';

export type EnvironmentState = 'generic' | 'initializing' | 'ready' | 'failed';

export interface InvokeRequest {
  requestId: string;
  body: Buffer;
  contentType: string;
  logTail: boolean;
  invokedFunctionArn?: string;
  clientContext?: string;
  traceId?: string;
  /** The caller takes the response as a stream (InvokeWithResponseStream, streaming URLs). */
  sink?: ResponseSink;
}

export interface InvokeResult {
  /** The response, or the error document; empty when a streamed response already went to the sink. */
  body: Buffer;
  /** The response went to the sink as the runtime wrote it. */
  streamed: boolean;
  contentType: string;
  functionError: boolean;
  executedVersion: string;
  logTail?: Buffer;
  /** Set on the first invoke after an Init (the one that "paid" for it). */
  initDurationMs?: number;
  /** The runtime was killed or died during this invoke (or, idle, since the last one). */
  environmentReset: boolean;
  /** When Init (if reported) and the Invoke phase ran, for the gateway's trace spans. */
  phases: PhaseTimings;
}

export interface SpecializeResult {
  state: 'ready' | 'failed';
  initDurationMs: number;
  artifactsDurationMs: number;
  initError?: { errorType: string; errorMessage: string };
}

/** The errorType of a function's error document, if it names one. */
function functionErrorType(body: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { errorType?: unknown };
    return typeof parsed.errorType === 'string' ? parsed.errorType : undefined;
  } catch {
    return undefined;
  }
}

/** What an Init failure says, for the specialise answer (no request id there yet). */
function describeFailure(failure: InitFailure): { errorType: string; errorMessage: string } {
  if (failure.source === 'platform') return { errorType: failure.errorType, errorMessage: failure.reason };
  try {
    const parsed = JSON.parse(failure.body.toString('utf8')) as { errorMessage?: unknown };
    return { errorType: failure.errorType, errorMessage: String(parsed.errorMessage ?? '') };
  } catch {
    return { errorType: failure.errorType, errorMessage: failure.body.toString('utf8') };
  }
}

/** The invoke answer for how an invocation ended, plus what REPORT says about it. */
function answerFor(
  end: InvocationEnd,
  requestId: string,
  timeoutSeconds: number,
): {
  body: Buffer;
  contentType: string;
  functionError: boolean;
  status?: Report['status'];
  errorType?: string;
} {
  const json = 'application/json';
  switch (end.kind) {
    case 'response':
      return { body: end.body, contentType: end.contentType ?? json, functionError: false };
    case 'error':
      return { body: errorBody(end.body, end.errorType), contentType: json, functionError: true };
    case 'tooLarge':
      return { body: encodePayload(responseTooLarge()), contentType: json, functionError: true };
    case 'streamed':
      if (end.tooLarge) {
        const payload = responseTooLarge(MAX_STREAMED_RESPONSE_BYTES);
        return { body: encodePayload(payload), contentType: end.contentType, functionError: true };
      }
      if (end.errorType === undefined && end.errorBody === undefined)
        return { body: Buffer.alloc(0), contentType: end.contentType, functionError: false };
      return {
        body: errorBody(end.errorBody ?? Buffer.alloc(0), end.errorType),
        contentType: end.contentType,
        functionError: true,
      };
    case 'timeout':
      return {
        body: encodePayload(timedOut(requestId, timeoutSeconds)),
        contentType: json,
        functionError: true,
        status: 'timeout',
        errorType: 'Sandbox.Timedout',
      };
    case 'exit':
      return {
        body: encodePayload(platformError(requestId, end.errorType, end.reason)),
        contentType: json,
        functionError: true,
        status: 'error',
        errorType: end.errorType,
      };
  }
}

export class ExecutionEnvironment {
  private state: EnvironmentState = 'generic';
  private config: FunctionConfig | undefined;
  private streamName = '';
  private busy = false;
  private specializing: Promise<unknown> | undefined;
  private pendingInitFailure: InitFailure | undefined;
  private unreportedInitMs: number | undefined;
  /** When that Init ended (monotonic), to place it relative to the invoke that reports it. */
  private unreportedInitEndedAt: number | undefined;
  /** The end of the previous Invoke phase: extensions still working after the runtime answered. */
  private invokePhase: Promise<void> = Promise.resolve();
  private readonly log = new FunctionLog();
  private readonly runtime: RuntimeSupervisor;

  constructor(
    private readonly settings: AgentSettings,
    private readonly clock: Clock,
  ) {
    this.runtime = new RuntimeSupervisor(settings, clock, this.log);
  }

  /** Starts the Runtime API; returns its port. */
  listen(): Promise<number> {
    return this.runtime.listen();
  }

  /** Generic (warm pool): starts the runtime clients that specialisation hands a function to. */
  startStandbys(): void {
    const { standby } = this.settings;
    if (standby && this.state === 'generic' && !this.config) {
      this.runtime.startStandbys(standby.runtimes, standby.memorySize);
    }
  }

  health(): { status: number; body: Record<string, unknown> } {
    const body: Record<string, unknown> = { state: this.state, busy: this.busy };
    if (this.config) {
      const { functionName, version, runtime } = this.config;
      Object.assign(body, { functionName, version, runtime });
    }
    // A generic environment is ready for a fast cold start once its standby runtimes wait.
    const starting = this.state === 'generic' && !this.runtime.standbysParked();
    if (starting) body.standbys = 'starting';
    // An image function's container has exited: this environment cannot run it again, and its
    // exit (status, last lines) is the kubelet's to report — never ready, so the gateway does.
    const gone = this.config?.packageType === 'Image' && imageContainerGone();
    if (gone) body.container = 'exited';
    return { status: this.state === 'initializing' || starting || gone ? 503 : 200, body };
  }

  async specialize(input: unknown): Promise<SpecializeResult> {
    if (this.state === 'initializing') throw new SpecializationInProgressError();
    if (this.config) throw new AlreadySpecializedError(this.config.functionName);
    const config = parseFunctionConfig(input);
    this.state = 'initializing';
    this.config = config;
    const work = this.install(config);
    const done = () => (this.specializing = undefined);
    this.specializing = work.then(done, done);
    return work;
  }

  private async install(config: FunctionConfig): Promise<SpecializeResult> {
    setLogContext({
      functionName: config.functionName,
      version: config.version,
      namespace: config.namespace,
    });
    this.streamName = logStreamName(
      config.version,
      new Date(this.clock.now()),
      randomBytes(16).toString('hex'),
    );
    const started = this.clock.monotonic();
    try {
      const { unzippedBytes } = await installArtifacts(config, this.settings);
      agentLog('info', 'artifacts installed', { unzippedBytes, layers: config.layers.length });
    } catch (err) {
      this.state = 'generic';
      this.config = undefined;
      agentLog('warn', 'specialisation failed', { error: String((err as Error)?.message ?? err) });
      throw err;
    }
    const artifactsDurationMs = this.clock.monotonic() - started;
    // A failed Init's log (what the runtime wrote before it failed) is the tail of the invoke
    // that reports the failure.
    this.log.beginCapture();
    const init = await this.runtime.init(config, this.streamName);
    this.unreportedInitMs = init.durationMs;
    this.unreportedInitEndedAt = this.clock.monotonic();
    if (init.ok) {
      this.log.endCapture();
      this.state = 'ready';
      return { state: 'ready', initDurationMs: init.durationMs, artifactsDurationMs };
    }
    this.state = 'failed';
    this.pendingInitFailure = init.failure;
    const initError = describeFailure(init.failure);
    return { state: 'failed', initDurationMs: init.durationMs, artifactsDurationMs, initError };
  }

  /** Claims the environment synchronously, so a concurrent invoke is refused before its body is read. */
  claim(): () => void {
    if (this.state === 'generic') throw new NotSpecializedError();
    if (this.busy) throw new EnvironmentBusyError();
    this.busy = true;
    return () => {
      this.busy = false;
    };
  }

  /** Runs one invocation; the caller holds the claim. */
  async invoke(request: InvokeRequest): Promise<InvokeResult> {
    const received = this.clock.monotonic();
    if (this.specializing) await this.specializing;
    const config = this.config;
    if (!config) throw new NotSpecializedError();
    let initDurationMs = this.unreportedInitMs;
    let initEndedAt = this.unreportedInitEndedAt;
    this.unreportedInitMs = undefined;
    this.unreportedInitEndedAt = undefined;
    const initPhase = () =>
      initDurationMs !== undefined && initEndedAt !== undefined
        ? { initStartMs: initEndedAt - initDurationMs - received }
        : {};
    await this.invokePhase;
    await this.runtime.resetAfterExtensionFailure();
    await this.runtime.awaitFree(config.timeout * 1000);
    const resetBefore = this.runtime.takeIdleDeath();

    const recorded = this.pendingInitFailure;
    this.pendingInitFailure = undefined;
    if (recorded)
      return this.failedInit(request, config, recorded, initDurationMs, resetBefore, {
        ...initPhase(),
        invokeStartMs: this.clock.monotonic() - received,
        invokeDurationMs: 0,
      });
    if (!this.runtime.running) {
      // Suppressed init: the runtime is (re)started inside this invoke, as Lambda retries Init.
      this.log.beginCapture();
      const init = await this.runtime.init(config, this.streamName);
      initDurationMs = init.durationMs;
      initEndedAt = this.clock.monotonic();
      if (!init.ok) {
        this.state = 'failed';
        return this.failedInit(request, config, init.failure, initDurationMs, resetBefore, {
          ...initPhase(),
          invokeStartMs: initEndedAt - received,
          invokeDurationMs: 0,
        });
      }
      this.state = 'ready';
    }

    const { requestId } = request;
    // Lambda always sets one: a new root when the caller sent none.
    const traceId = request.traceId ?? newTraceId(this.clock.now(), (n) => randomBytes(n).toString('hex'));
    const telemetry = this.runtime.telemetry;
    const started = this.clock.monotonic();
    this.log.beginCapture();
    this.log.platformLine(startLine(requestId, config.version));
    telemetry.emit('platform.start', platformRecords.start(requestId, config.version, traceId));
    const report = await this.runtime.invoke(
      {
        requestId,
        body: normalizePayload(request.body),
        contentType: request.contentType,
        invokedFunctionArn: request.invokedFunctionArn ?? config.functionArn,
        traceId,
        clientContext: request.clientContext,
        ...(request.sink ? { sink: request.sink } : {}),
      },
      config,
    );
    const answer = answerFor(report.end, requestId, config.timeout);
    if (report.end.kind === 'timeout') {
      this.log.platformLine(timeoutLine(new Date(this.clock.now()), requestId, config.timeout));
    } else if (report.end.kind === 'exit') {
      this.log.platformLine(`RequestId: ${requestId} Error: ${report.end.reason}\n${report.end.errorType}`);
    }
    if (report.reset) agentLog('warn', 'environment reset', { requestId, errorType: answer.errorType });
    const status: InvokeStatus =
      answer.status === 'timeout'
        ? 'timeout'
        : answer.status === 'error'
          ? 'failure'
          : answer.functionError
            ? 'error'
            : 'success';
    const errorType = answer.errorType ?? (answer.functionError ? functionErrorType(answer.body) : undefined);
    telemetry.emit(
      'platform.runtimeDone',
      platformRecords.runtimeDone({
        requestId,
        status,
        errorType,
        durationMs: report.durationMs,
        producedBytes: answer.body.length,
        traceId,
      }),
    );

    // The Invoke phase ends when every extension subscribed to INVOKE is done too; REPORT
    // then counts their time, as Lambda's does. The answer does not wait for them.
    const finish = async () => {
      let final = { status: answer.status, errorType: answer.errorType, telemetryStatus: status };
      if (!report.reset && this.runtime.extensionsHoldInvokes) {
        const ext = await this.runtime.awaitExtensions(started + config.timeout * 1000);
        if (!ext.ok)
          final = {
            status: ext.status,
            errorType: ext.errorType,
            telemetryStatus: ext.status === 'timeout' ? 'timeout' : 'failure',
          };
      }
      const durationMs = this.clock.monotonic() - started;
      const invokeReport = {
        requestId,
        durationMs,
        memorySizeMb: config.memorySize,
        maxMemoryUsedBytes: report.maxMemoryUsedBytes,
        initDurationMs,
        status: final.status,
        errorType: final.errorType,
      };
      this.log.platformLine(endLine(requestId), reportLine(invokeReport));
      telemetry.emit(
        'platform.report',
        platformRecords.report({
          requestId,
          status: final.telemetryStatus,
          errorType: final.errorType ?? errorType,
          durationMs,
          memorySizeMB: config.memorySize,
          maxMemoryUsedMB: Math.max(1, Math.round(report.maxMemoryUsedBytes / (1024 * 1024))),
          initDurationMs,
          traceId,
        }),
      );
    };
    let tail: Buffer;
    if (!report.reset && this.runtime.extensionsHoldInvokes) {
      // The log tail goes out with the answer: it ends before END / REPORT.
      tail = this.log.endCapture();
      this.invokePhase = finish().catch((err: unknown) =>
        agentLog('error', 'invoke phase failed', { error: String(err) }),
      );
    } else {
      await finish();
      tail = this.log.endCapture();
    }
    return {
      body: answer.body,
      streamed: report.end.kind === 'streamed',
      contentType: answer.contentType,
      functionError: answer.functionError,
      executedVersion: config.version,
      environmentReset: resetBefore || report.reset,
      initDurationMs,
      logTail: request.logTail ? tail : undefined,
      phases: { ...initPhase(), invokeStartMs: started - received, invokeDurationMs: report.durationMs },
    };
  }

  /** The answer of an invoke whose Init failed (now, or recorded at specialisation). */
  private failedInit(
    request: InvokeRequest,
    config: FunctionConfig,
    failure: InitFailure,
    initDurationMs: number | undefined,
    environmentReset: boolean,
    phases: PhaseTimings,
  ): InvokeResult {
    const { requestId } = request;
    // The capture holds the failed Init's log when it ran in this agent (not after a restart).
    if (!this.log.capturing) this.log.beginCapture();
    this.log.platformLine(
      startLine(requestId, config.version),
      endLine(requestId),
      reportLine({
        requestId,
        durationMs: 0,
        memorySizeMb: config.memorySize,
        maxMemoryUsedBytes: 0,
        initDurationMs,
        status: 'error',
        errorType: failure.errorType,
      }),
    );
    const tail = this.log.endCapture();
    const body =
      failure.source === 'runtime'
        ? failure.body
        : encodePayload(platformError(requestId, failure.errorType, failure.reason));
    return {
      body,
      streamed: false,
      contentType: 'application/json',
      functionError: true,
      executedVersion: config.version,
      environmentReset,
      initDurationMs,
      logTail: request.logTail ? tail : undefined,
      phases,
    };
  }

  async shutdown(): Promise<void> {
    // The last invoke's REPORT reaches the log and the subscribers before SHUTDOWN.
    await this.invokePhase;
    await this.runtime.shutdown();
  }
}
