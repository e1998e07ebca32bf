// Alias: a named pointer to a version (or $LATEST), optionally sending a weighted share of
// traffic to one additional version (canary), with optional provisioned concurrency.
import { z } from 'zod';
import { Conditions, ProvisionedConcurrencyStatus, withRules } from './common.js';

const VersionQualifier = z
  .string()
  .max(16)
  .regex(/^(\$LATEST|[0-9]+)$/)
  .meta({ description: 'A version number or $LATEST.' });

const weights = (alias: { routingConfig?: { additionalVersionWeights: Record<string, number> } }) =>
  Object.entries(alias.routingConfig?.additionalVersionWeights ?? {});

export const AliasSpec = withRules(
  z.object({
    functionName: z.string().min(1).max(64),
    name: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[a-zA-Z0-9-_]+$/)
      .optional()
      .meta({ description: 'The qualifier clients use (defaults to metadata.name); not all digits.' }),
    description: z.string().max(256).optional(),
    functionVersion: VersionQualifier,
    routingConfig: z
      .object({
        additionalVersionWeights: z.record(z.string().max(16), z.number().min(0).max(1)).meta({
          description: 'At most one {"<version>": weight}; the primary version gets 1 - weight.',
          maxProperties: 1,
        }),
      })
      .optional(),
    provisionedConcurrentExecutions: z.int().min(0).optional(),
  }),
  [
    { rule: 'self.functionName == oldSelf.functionName', message: 'functionName is immutable' },
    {
      rule: '!has(self.name) || !self.name.matches("^[0-9]+$")',
      message: 'an alias name cannot be all digits',
      check: (a) => a.name === undefined || !/^[0-9]+$/.test(a.name),
    },
    {
      rule: '!has(self.routingConfig) || size(self.routingConfig.additionalVersionWeights) <= 1',
      message: 'Number of items in AdditionalVersionWeights cannot be greater than 1',
      check: (a) => weights(a).length <= 1,
    },
    {
      rule: '!has(self.routingConfig) || self.routingConfig.additionalVersionWeights.all(k, k.matches("^[0-9]+$"))',
      message: 'additionalVersionWeights keys must be published version numbers ($LATEST is not allowed)',
      check: (a) => weights(a).every(([k]) => /^[0-9]+$/.test(k)),
    },
    {
      rule: '!has(self.routingConfig) || !(self.functionVersion in self.routingConfig.additionalVersionWeights)',
      message: 'the additional version must differ from functionVersion',
      check: (a) => !weights(a).some(([k]) => k === a.functionVersion),
    },
    {
      rule: '!has(self.routingConfig) || size(self.routingConfig.additionalVersionWeights) == 0 || self.functionVersion != "$LATEST"',
      message: '$LATEST is not supported for an alias pointing to more than 1 version',
      check: (a) => weights(a).length === 0 || a.functionVersion !== '$LATEST',
    },
    {
      rule: '!has(self.provisionedConcurrentExecutions) || self.provisionedConcurrentExecutions == 0 || !has(self.routingConfig) || size(self.routingConfig.additionalVersionWeights) == 0',
      message: 'provisioned concurrency cannot be set on an alias with a routing configuration',
      check: (a) => !a.provisionedConcurrentExecutions || weights(a).length === 0,
    },
    {
      rule: '!has(self.provisionedConcurrentExecutions) || self.provisionedConcurrentExecutions == 0 || self.functionVersion != "$LATEST"',
      message: 'provisioned concurrency cannot be set on $LATEST',
      check: (a) => !a.provisionedConcurrentExecutions || a.functionVersion !== '$LATEST',
    },
  ],
);
export type AliasSpec = z.infer<typeof AliasSpec>;

export const AliasStatus = z.object({
  observedGeneration: z.int().min(0).optional(),
  state: z.enum(['Pending', 'Active', 'Failed']).optional(),
  stateReason: z.string().max(4096).optional(),
  conditions: Conditions.optional(),
  resolvedVersion: z.string().max(16).optional(),
  additionalVersion: z.string().max(16).optional(),
  additionalVersionWeight: z.number().min(0).max(1).optional(),
  provisionedConcurrency: ProvisionedConcurrencyStatus.optional(),
});
export type AliasStatus = z.infer<typeof AliasStatus>;
