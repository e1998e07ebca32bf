// The four custom resources: their names, printer columns and object types, derived from
// the spec/status schemas beside this file. The CRD generator and the operator both read
// this table, so a kind is described in exactly one place.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { z } from 'zod';
import { AliasSpec, AliasStatus } from './alias.js';
import { API_VERSION, GROUP } from './common.js';
import { EventSourceMappingSpec, EventSourceMappingStatus } from './event-source-mapping.js';
import { FunctionSpec, FunctionStatus } from './function.js';
import { LayerSpec, LayerStatus } from './layer.js';
import { VersionSpec, VersionStatus } from './version.js';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface ResourceDefinition<Spec extends z.ZodType, Status extends z.ZodType> {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  spec: Spec;
  status: Status;
  printerColumns: PrinterColumn[];
}

const age: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

export const FunctionResource = {
  kind: 'Function',
  plural: 'functions',
  singular: 'function',
  shortNames: ['fn', 'lfn'],
  spec: FunctionSpec,
  status: FunctionStatus,
  printerColumns: [
    { name: 'Runtime', type: 'string', jsonPath: '.spec.runtime' },
    { name: 'State', type: 'string', jsonPath: '.status.state' },
    {
      name: 'Latest',
      type: 'string',
      jsonPath: '.status.latestVersion',
      description: 'Newest published version',
    },
    { name: 'Reason', type: 'string', jsonPath: '.status.stateReason', priority: 1 },
    { name: 'Handler', type: 'string', jsonPath: '.spec.handler', priority: 1 },
    { name: 'URL', type: 'string', jsonPath: '.status.url', priority: 1 },
    age,
  ],
} satisfies ResourceDefinition<typeof FunctionSpec, typeof FunctionStatus>;

export const LayerResource = {
  kind: 'Layer',
  plural: 'layers',
  singular: 'layer',
  shortNames: ['lv', 'lyr'],
  spec: LayerSpec,
  status: LayerStatus,
  printerColumns: [
    { name: 'Latest', type: 'integer', jsonPath: '.status.latestVersion' },
    { name: 'State', type: 'string', jsonPath: '.status.state' },
    { name: 'Shared', type: 'string', jsonPath: '.spec.sharing.namespaces' },
    age,
  ],
} satisfies ResourceDefinition<typeof LayerSpec, typeof LayerStatus>;

export const VersionResource = {
  kind: 'Version',
  plural: 'versions',
  singular: 'version',
  shortNames: ['ver', 'fnv'],
  spec: VersionSpec,
  status: VersionStatus,
  printerColumns: [
    { name: 'Function', type: 'string', jsonPath: '.spec.functionName' },
    { name: 'Version', type: 'integer', jsonPath: '.spec.version' },
    { name: 'State', type: 'string', jsonPath: '.status.state' },
    { name: 'Code', type: 'string', jsonPath: '.spec.snapshot.codeSha256', priority: 1 },
    { name: 'Provisioned', type: 'integer', jsonPath: '.status.provisionedConcurrency.available' },
    age,
  ],
} satisfies ResourceDefinition<typeof VersionSpec, typeof VersionStatus>;

export const AliasResource = {
  kind: 'Alias',
  plural: 'aliases',
  singular: 'alias',
  shortNames: ['al', 'fna'],
  spec: AliasSpec,
  status: AliasStatus,
  printerColumns: [
    { name: 'Function', type: 'string', jsonPath: '.spec.functionName' },
    { name: 'Version', type: 'string', jsonPath: '.spec.functionVersion' },
    { name: 'Canary', type: 'string', jsonPath: '.status.additionalVersion' },
    { name: 'Weight', type: 'number', jsonPath: '.status.additionalVersionWeight' },
    { name: 'State', type: 'string', jsonPath: '.status.state' },
    age,
  ],
} satisfies ResourceDefinition<typeof AliasSpec, typeof AliasStatus>;

export const EventSourceMappingResource = {
  kind: 'EventSourceMapping',
  plural: 'eventsourcemappings',
  singular: 'eventsourcemapping',
  shortNames: ['esm'],
  spec: EventSourceMappingSpec,
  status: EventSourceMappingStatus,
  printerColumns: [
    { name: 'Function', type: 'string', jsonPath: '.spec.functionName' },
    {
      name: 'Source',
      type: 'string',
      jsonPath: '.status.source',
      description: 'Where records come from: topic, queue, stream or schedule expression',
    },
    { name: 'State', type: 'string', jsonPath: '.status.state' },
    { name: 'Reason', type: 'string', jsonPath: '.status.stateTransitionReason', priority: 1 },
    { name: 'Result', type: 'string', jsonPath: '.status.lastProcessingResult', priority: 1 },
    age,
  ],
} satisfies ResourceDefinition<typeof EventSourceMappingSpec, typeof EventSourceMappingStatus>;

export const RESOURCES = [
  FunctionResource,
  LayerResource,
  VersionResource,
  AliasResource,
  EventSourceMappingResource,
] as const;

export const API_GROUP_VERSION = `${GROUP}/${API_VERSION}`;

/** Kubernetes object metadata; every Lamina object has a name. */
export type ObjectMeta = V1ObjectMeta & { name: string };

export interface CustomObject<Spec, Status> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}

export type LaminaFunction = CustomObject<z.infer<typeof FunctionSpec>, z.infer<typeof FunctionStatus>>;
export type Layer = CustomObject<z.infer<typeof LayerSpec>, z.infer<typeof LayerStatus>>;
export type Version = CustomObject<z.infer<typeof VersionSpec>, z.infer<typeof VersionStatus>>;
export type Alias = CustomObject<z.infer<typeof AliasSpec>, z.infer<typeof AliasStatus>>;
export type EventSourceMapping = CustomObject<
  z.infer<typeof EventSourceMappingSpec>,
  z.infer<typeof EventSourceMappingStatus>
>;
