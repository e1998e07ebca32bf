// Kubernetes Events on Lamina objects, so `kubectl describe` tells the story. Repeats of the
// same event are folded into one object (count + lastTimestamp), like client-go's recorder.
// Recording is best effort: a failed event is logged and never fails a reconcile.
import { createHash } from 'node:crypto';
import { CoreV1Api, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';
import type { Clock, Logger } from '../shared/index.js';
import { clip } from '../shared/index.js';
import { isAlreadyExists } from './errors.js';
import { FIELD_MANAGER } from './custom-objects.js';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string };
}

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  record(target: EventTarget, type: EventType, reason: string, message: string): Promise<void>;
}

export class KubeEventRecorder implements EventRecorder {
  private readonly api: CoreV1Api;

  constructor(
    kc: KubeConfig,
    private readonly instance: string,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.api = kc.makeApiClient(CoreV1Api);
  }

  async record(target: EventTarget, type: EventType, reason: string, message: string): Promise<void> {
    const namespace = target.metadata.namespace ?? 'default';
    const text = clip(message);
    const key = createHash('sha256')
      .update([target.kind, target.metadata.uid ?? target.metadata.name, type, reason, text].join('\0'))
      .digest('hex')
      .slice(0, 16);
    const name = `${target.metadata.name}.${key}`;
    const now = new Date(this.clock.now());
    const event: CoreV1Event = {
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: target.apiVersion,
        kind: target.kind,
        name: target.metadata.name,
        namespace,
        uid: target.metadata.uid,
        resourceVersion: target.metadata.resourceVersion,
      },
      type,
      reason,
      message: text,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: FIELD_MANAGER },
      reportingComponent: 'lamina.dev/operator',
      reportingInstance: this.instance,
    };
    try {
      try {
        await this.api.createNamespacedEvent({ namespace, body: event });
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        const existing = await this.api.readNamespacedEvent({ name, namespace });
        existing.count = (existing.count ?? 1) + 1;
        existing.lastTimestamp = now;
        await this.api.replaceNamespacedEvent({ name, namespace, body: existing });
      }
    } catch (err) {
      this.log.warn('could not record event', {
        kind: target.kind,
        name: target.metadata.name,
        reason,
        error: String(err),
      });
    }
  }
}
