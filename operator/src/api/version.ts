// Version: an immutable, numbered snapshot of a Function (Lambda's PublishVersion). Users
// create one naming the function (or set `publish: true` on the Function); the operator
// assigns the number and records the snapshot once. The API server then refuses changes.
import { z } from 'zod';
import {
  Conditions,
  Environment,
  ProvisionedConcurrencyStatus,
  PinnedLayer,
  Runtime,
  Sha256,
  limits,
  withRules,
} from './common.js';
import { ImageSnapshot } from './image.js';

export const VersionSnapshot = z.object({
  runtime: Runtime.optional().meta({ description: 'Zip functions only.' }),
  handler: z.string().max(128).optional(),
  image: ImageSnapshot.optional().meta({ description: 'Image functions: the image by digest.' }),
  codeSha256: Sha256.meta({
    description: "The zip's digest, or the image manifest's (as Lambda reports it).",
  }),
  codeSize: z.int().min(0),
  memorySize: z.int().min(limits.memorySize.min).max(limits.memorySize.max),
  timeout: z.int().min(limits.timeout.min).max(limits.timeout.max),
  ephemeralStorageSize: z.int().min(limits.ephemeralStorage.min).max(limits.ephemeralStorage.max),
  environment: Environment.optional(),
  serviceAccountName: z.string().max(253).optional(),
  layers: z.array(PinnedLayer).max(limits.layersPerFunction).optional(),
  deadLetterTarget: z.string().max(1024).optional(),
  description: z.string().max(limits.descriptionLength).optional(),
  revisionId: z.string().max(128).meta({ description: 'The $LATEST revision this snapshot was taken from.' }),
});
export type VersionSnapshot = z.infer<typeof VersionSnapshot>;

export const VersionSpec = withRules(
  z.object({
    functionName: z.string().min(1).max(64),
    description: z.string().max(limits.descriptionLength).optional(),
    codeSha256: Sha256.optional().meta({
      description: 'Publish only if $LATEST has this code digest (PublishVersion CodeSha256).',
    }),
    revisionId: z.string().max(128).optional().meta({
      description: 'Publish only if $LATEST is at this revision (PublishVersion RevisionId).',
    }),
    version: z.int().min(1).optional().meta({ description: 'Assigned by the operator; never reused.' }),
    snapshot: VersionSnapshot.optional().meta({ description: 'Recorded by the operator when published.' }),
    provisionedConcurrentExecutions: z
      .int()
      .min(0)
      .optional()
      .meta({ description: 'Environments kept initialised for this version.' }),
  }),
  [
    { rule: 'self.functionName == oldSelf.functionName', message: 'functionName is immutable' },
    {
      rule: '!has(oldSelf.version) || (has(self.version) && self.version == oldSelf.version)',
      message: 'a published version number cannot change',
    },
    {
      rule: '!has(oldSelf.snapshot) || (has(self.snapshot) && self.snapshot == oldSelf.snapshot)',
      message: 'a published version is immutable: its snapshot cannot change',
    },
  ],
);
export type VersionSpec = z.infer<typeof VersionSpec>;

export const VersionStatus = z.object({
  observedGeneration: z.int().min(0).optional(),
  state: z.enum(['Pending', 'Active', 'Failed']).optional(),
  stateReason: z.string().max(4096).optional(),
  conditions: Conditions.optional(),
  version: z.string().max(16).optional().meta({ description: 'The version number this object stands for.' }),
  provisionedConcurrency: ProvisionedConcurrencyStatus.optional(),
});
export type VersionStatus = z.infer<typeof VersionStatus>;
