// Layer: a shared zip of libraries, data or a custom runtime. Each content change makes a
// new immutable layer version, recorded in status; functions pin a version.
import { z } from 'zod';
import { ARCHITECTURES, CodeSource, Conditions, RUNTIMES, Sha256, limits } from './common.js';

export const LayerSpec = z.object({
  description: z.string().max(limits.descriptionLength).optional(),
  content: CodeSource,
  compatibleRuntimes: z.array(z.enum(RUNTIMES)).max(limits.compatibleRuntimes).optional(),
  compatibleArchitectures: z.array(z.enum(ARCHITECTURES)).max(limits.compatibleArchitectures).optional(),
  licenseInfo: z.string().max(512).optional(),
  sharing: z
    .object({
      namespaces: z
        .array(
          z
            .string()
            .max(63)
            .regex(/^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$/),
        )
        .max(256)
        .meta({ description: 'Namespaces whose functions may use this layer; "*" for all.' }),
    })
    .optional(),
  deletedVersions: z.array(z.int().min(1)).max(1000).optional().meta({
    description:
      'Layer versions deleted (DeleteLayerVersion): functions that pinned them keep working, new references are refused.',
    'x-kubernetes-list-type': 'set',
  }),
});
export type LayerSpec = z.infer<typeof LayerSpec>;

export const LayerVersionRecord = z.object({
  version: z.int().min(1),
  sha256: Sha256,
  size: z.int().min(0),
  unzippedSize: z.int().min(0).optional(),
  compatibleRuntimes: z.array(z.enum(RUNTIMES)).max(limits.compatibleRuntimes).optional(),
  createdAt: z.string().max(64),
  deleted: z.boolean().optional(),
});
export type LayerVersionRecord = z.infer<typeof LayerVersionRecord>;

export const LayerStatus = z.object({
  observedGeneration: z.int().min(0).optional(),
  state: z.enum(['Pending', 'Active', 'Failed']).optional(),
  stateReason: z.string().max(4096).optional(),
  conditions: Conditions.optional(),
  latestVersion: z.int().min(0).optional(),
  versions: z
    .array(LayerVersionRecord)
    .max(1000)
    .optional()
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['version'] }),
});
export type LayerStatus = z.infer<typeof LayerStatus>;
