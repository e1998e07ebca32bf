// The Lambda Extensions API (`/2020-01-01/extension/…`) and the Telemetry / Logs API
// subscriptions, served on the Runtime API's address. Paths, headers, status codes, error
// types and messages follow the Runtime Interface Emulator. An extension whose name is an
// executable of /opt/extensions is external (started by the agent); any other name is an
// internal extension (a thread of the runtime process), which may register only during Init
// and never for SHUTDOWN.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson } from './http.js';
import { parseSubscription, platformRecords, SubscriptionError, type TelemetryFlavour } from './telemetry.js';
import type { TelemetryHub } from './telemetry-hub.js';

export const EXTENSION_PATHS = {
  register: '/2020-01-01/extension/register',
  next: '/2020-01-01/extension/event/next',
  initError: '/2020-01-01/extension/init/error',
  exitError: '/2020-01-01/extension/exit/error',
  telemetry: '/2022-07-01/telemetry',
  logs: '/2020-08-15/logs',
} as const;

export const EXTENSION_HEADERS = {
  name: 'lambda-extension-name',
  identifier: 'lambda-extension-identifier',
  errorType: 'lambda-extension-function-error-type',
  acceptFeature: 'lambda-extension-accept-feature',
  eventIdentifier: 'lambda-extension-event-identifier',
} as const;

/** Lambda allows ten extensions per function. */
export const MAX_EXTENSIONS = 10;
const MAX_REQUEST_BYTES = 1024 * 1024;

export type ExtensionEventType = 'INVOKE' | 'SHUTDOWN';
type ExtensionState = 'Registered' | 'Ready' | 'Running' | 'InitError' | 'ExitError' | 'Exited';

export interface InvokeEvent {
  requestId: string;
  deadlineMs: number;
  invokedFunctionArn: string;
  traceId?: string;
}

export type ShutdownReason = 'spindown' | 'timeout' | 'failure';

interface Extension {
  id: string;
  name: string;
  external: boolean;
  events: Set<ExtensionEventType>;
  state: ExtensionState;
  /** The extension's long poll on /event/next. */
  waiter: ServerResponse | undefined;
  /** An event not yet handed over (the extension was not polling). */
  pending: Record<string, unknown> | undefined;
}

export interface FunctionMetadata {
  functionName: string;
  functionVersion: string;
  handler: string;
  accountId: string;
}

export interface ExtensionsApiEvents {
  /** An extension called /init/error or /exit/error: the environment cannot go on. */
  onExtensionError(name: string, errorType: string): void;
}

const forbidden = (res: ServerResponse, errorType: string, errorMessage: string) =>
  sendJson(res, 403, { errorMessage, errorType });

const transitionFailed = (res: ServerResponse, from: string, to: string, who: string) =>
  forbidden(
    res,
    'Extension.InvalidExtensionState',
    `State transition from ${from} to ${to} failed for extension ${who}. Error: State transition is not allowed`,
  );

/** `Extension.<Reason>` as the extension sent it, else the default Lambda uses. */
export function validExtensionErrorType(raw: string, fallback: string): string {
  return /^Extension\.[A-Za-z0-9]+$/.test(raw) ? raw : fallback;
}

export class ExtensionsApi {
  private extensions = new Map<string, Extension>();
  private externalNames = new Set<string>();
  private registrationOpen = false;
  private metadata: FunctionMetadata = { functionName: '', functionVersion: '', handler: '', accountId: '' };
  /** Each returns true once it has seen what it waited for. */
  private listeners: (() => boolean)[] = [];

  constructor(
    private readonly telemetry: TelemetryHub,
    private readonly events: ExtensionsApiEvents,
  ) {}

  /** A new Init: forget the previous extensions; `externalNames` are the executables being started. */
  begin(externalNames: string[], metadata: FunctionMetadata): void {
    for (const ext of this.extensions.values()) ext.waiter?.destroy();
    this.extensions.clear();
    this.externalNames = new Set(externalNames);
    this.metadata = metadata;
    this.registrationOpen = true;
    this.changed();
  }

  /** The runtime finished its Init: internal extensions can no longer register. */
  closeRegistration(): void {
    this.registrationOpen = false;
  }

  get count(): number {
    return this.extensions.size;
  }

  /** Names of the external extensions that have registered. */
  registeredExternal(): Set<string> {
    return new Set([...this.extensions.values()].filter((e) => e.external).map((e) => e.name));
  }

  /**
   * Every extension waits on /event/next with nothing pending (Init done, or the event over
   * for them); exited ones are not waited for (their exit is the supervisor's business).
   */
  allReady(only?: ExtensionEventType): boolean {
    for (const ext of this.extensions.values()) {
      if ((only && !ext.events.has(only)) || ext.state === 'Exited') continue;
      if (ext.state !== 'Ready' || ext.pending) return false;
    }
    return true;
  }

  subscribed(event: ExtensionEventType): boolean {
    return [...this.extensions.values()].some((e) => e.events.has(event));
  }

  /** Resolves once `predicate` holds (checked after every state change). */
  until(predicate: () => boolean): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve) => {
      this.listeners.push(() => {
        if (!predicate()) return false;
        resolve();
        return true;
      });
    });
  }

  /** The process of an external extension is gone. */
  markExited(name: string): void {
    for (const ext of this.extensions.values()) if (ext.name === name) ext.state = 'Exited';
    this.changed();
  }

  /** Re-evaluates the pending `until` conditions (they may read state from outside). */
  recheck(): void {
    this.changed();
  }

  private changed(): void {
    const listeners = this.listeners;
    this.listeners = [];
    for (const listener of listeners) if (!listener()) this.listeners.push(listener);
  }

  dispatchInvoke(invoke: InvokeEvent): void {
    this.dispatch('INVOKE', {
      eventType: 'INVOKE',
      deadlineMs: invoke.deadlineMs,
      requestId: invoke.requestId,
      invokedFunctionArn: invoke.invokedFunctionArn,
      ...(invoke.traceId ? { tracing: { type: 'X-Amzn-Trace-Id', value: invoke.traceId } } : {}),
    });
  }

  dispatchShutdown(reason: ShutdownReason, deadlineMs: number): void {
    this.dispatch('SHUTDOWN', { eventType: 'SHUTDOWN', shutdownReason: reason, deadlineMs });
  }

  private dispatch(type: ExtensionEventType, event: Record<string, unknown>): void {
    for (const ext of this.extensions.values()) {
      if (!ext.events.has(type) || ['InitError', 'ExitError', 'Exited'].includes(ext.state)) continue;
      ext.pending = event;
      if (ext.waiter) this.deliver(ext, ext.waiter);
    }
    this.changed();
  }

  private deliver(ext: Extension, res: ServerResponse): void {
    const event = ext.pending;
    if (!event) return;
    ext.pending = undefined;
    ext.waiter = undefined;
    ext.state = 'Running';
    sendJson(res, 200, event, { 'Lambda-Extension-Event-Identifier': randomUUID() });
  }

  /** Routes a request under the Extensions / Telemetry / Logs API; false when the path is not one. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> | false {
    if (req.method === 'POST' && path === EXTENSION_PATHS.register) return this.register(req, res);
    if (req.method === 'GET' && path === EXTENSION_PATHS.next) return this.withExtension(req, res, this.next);
    if (req.method === 'POST' && path === EXTENSION_PATHS.initError)
      return this.withExtension(req, res, (r, s, e) => this.reportError(r, s, e, 'init'));
    if (req.method === 'POST' && path === EXTENSION_PATHS.exitError)
      return this.withExtension(req, res, (r, s, e) => this.reportError(r, s, e, 'exit'));
    if (req.method === 'PUT' && (path === EXTENSION_PATHS.telemetry || path === EXTENSION_PATHS.logs)) {
      const flavour: TelemetryFlavour = path === EXTENSION_PATHS.telemetry ? 'telemetry' : 'logs';
      return this.withExtension(req, res, (r, s, e) => this.subscribe(r, s, e, flavour));
    }
    return false;
  }

  private async withExtension(
    req: IncomingMessage,
    res: ServerResponse,
    handler: (req: IncomingMessage, res: ServerResponse, ext: Extension) => Promise<void> | void,
  ): Promise<void> {
    const id = req.headers[EXTENSION_HEADERS.identifier];
    if (typeof id !== 'string' || id === '')
      return forbidden(
        res,
        'Extension.MissingExtensionIdentifier',
        'Missing Lambda-Extension-Identifier header',
      );
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id))
      return forbidden(res, 'Extension.InvalidExtensionIdentifier', 'Invalid Lambda-Extension-Identifier');
    const ext = this.extensions.get(id.toLowerCase());
    if (!ext) return forbidden(res, 'Extension.UnknownExtensionIdentifier', `Unknown extension ${id}`);
    return handler.call(this, req, res, ext);
  }

  private async register(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const name = req.headers[EXTENSION_HEADERS.name];
    if (typeof name !== 'string' || name === '')
      return forbidden(res, 'Extension.InvalidExtensionName', 'Empty extension name');
    const body = (await readBody(req, MAX_REQUEST_BYTES)) ?? Buffer.alloc(0);
    let events: unknown[];
    try {
      const parsed = JSON.parse(body.toString('utf8')) as { events?: unknown; configurationKeys?: unknown };
      if (Array.isArray(parsed.configurationKeys) && parsed.configurationKeys.length > 0)
        throw new Error('configurationKeys are deprecated; use environment variables instead');
      events = Array.isArray(parsed.events) ? parsed.events : [];
    } catch (err) {
      return forbidden(res, 'InvalidRequestFormat', (err as Error).message);
    }
    const external = this.externalNames.has(name);
    for (const event of events) {
      const supported = event === 'INVOKE' || event === 'SHUTDOWN';
      if (!supported)
        return forbidden(res, 'Extension.InvalidEventType', `${String(event)}: ErrorInvalidEventType`);
      if (!external && event === 'SHUTDOWN')
        return forbidden(
          res,
          'Extension.InvalidEventType',
          'SHUTDOWN: ShutdownEventNotSupportedForInternalExtension',
        );
    }
    const existing = [...this.extensions.values()].find((e) => e.name === name);
    if (existing) {
      if (existing.external) return transitionFailed(res, existing.state, 'Registered', name);
      return forbidden(res, 'Extension.InvalidExtensionState', 'Extension with this name already registered');
    }
    if (!external && !this.registrationOpen)
      return forbidden(res, 'Extension.RegistrationClosed', 'Extension registration closed already');
    if (this.extensions.size >= MAX_EXTENSIONS)
      return forbidden(res, 'Extension.TooManyExtensions', `Extension limit (${MAX_EXTENSIONS}) reached`);

    const ext: Extension = {
      id: randomUUID(),
      name,
      external,
      events: new Set(events as ExtensionEventType[]),
      state: 'Registered',
      waiter: undefined,
      pending: undefined,
    };
    this.extensions.set(ext.id, ext);
    const features = String(req.headers[EXTENSION_HEADERS.acceptFeature] ?? '')
      .split(',')
      .map((f) => f.trim());
    const { functionName, functionVersion, handler, accountId } = this.metadata;
    sendJson(
      res,
      200,
      { functionName, functionVersion, handler, ...(features.includes('accountId') ? { accountId } : {}) },
      { 'Lambda-Extension-Identifier': ext.id },
    );
    this.changed();
  }

  private next(_req: IncomingMessage, res: ServerResponse, ext: Extension): void {
    if (ext.state === 'InitError' || ext.state === 'ExitError' || ext.state === 'Exited')
      return transitionFailed(res, ext.state, 'Ready', ext.id);
    const wasRegistered = ext.state === 'Registered';
    ext.state = 'Ready';
    ext.waiter?.destroy();
    ext.waiter = res;
    res.on('close', () => {
      if (ext.waiter === res) ext.waiter = undefined;
    });
    if (wasRegistered)
      this.telemetry.emit('platform.extension', platformRecords.extension(ext.name, [...ext.events]));
    if (ext.pending) this.deliver(ext, res);
    this.changed();
  }

  private reportError(
    req: IncomingMessage,
    res: ServerResponse,
    ext: Extension,
    phase: 'init' | 'exit',
  ): void {
    const raw = req.headers[EXTENSION_HEADERS.errorType];
    if (typeof raw !== 'string' || raw === '')
      return forbidden(res, 'Extension.MissingHeader', 'Lambda-Extension-Function-Error-Type not found');
    const target = phase === 'init' ? 'InitError' : 'ExitError';
    // /init/error only before the extension's first /event/next; /exit/error any time after register.
    if (
      ext.state === 'InitError' ||
      ext.state === 'ExitError' ||
      (phase === 'init' && ext.state !== 'Registered')
    )
      return transitionFailed(res, ext.state, target, ext.id);
    const errorType = validExtensionErrorType(
      raw,
      phase === 'init' ? 'Extension.InitError' : 'Extension.ExitError',
    );
    ext.state = target;
    ext.waiter?.destroy();
    ext.waiter = undefined;
    ext.pending = undefined;
    req.resume();
    sendJson(res, 202, { status: 'OK' });
    this.events.onExtensionError(ext.name, errorType);
    this.changed();
  }

  private async subscribe(
    req: IncomingMessage,
    res: ServerResponse,
    ext: Extension,
    flavour: TelemetryFlavour,
  ): Promise<void> {
    const body = (await readBody(req, MAX_REQUEST_BYTES)) ?? Buffer.alloc(0);
    try {
      const subscription = parseSubscription(flavour, body.toString('utf8'));
      this.telemetry.subscribe(ext.id, subscription);
      this.telemetry.emit(
        flavour === 'telemetry' ? 'platform.telemetrySubscription' : 'platform.logsSubscription',
        platformRecords.subscription(ext.name, subscription.types),
      );
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('"OK"');
    } catch (err) {
      if (!(err instanceof SubscriptionError)) throw err;
      sendJson(res, 400, { errorType: err.errorType, errorMessage: err.message });
    }
  }

  /** Ends every long poll (the agent is stopping or the environment is reset). */
  close(): void {
    for (const ext of this.extensions.values()) {
      ext.waiter?.destroy();
      ext.waiter = undefined;
    }
  }
}
