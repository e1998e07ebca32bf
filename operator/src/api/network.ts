// spec.network: what a function's execution environments may connect to beyond what every
// function may (Lambda's VpcConfig, as Kubernetes can say it). The operator writes one
// NetworkPolicy per function from it (controller/network-policy.ts); policies add up, so these
// rules widen the namespace's function policy (chart: networkPolicy) and never narrow it.
import { BlockList, isIP } from 'node:net';
import { z } from 'zod';
import { withRules } from './common.js';

const LINK_LOCAL_V4 = '169.254.0.0/16';
const METADATA_V4 = '169.254.169.254';

/** `a.b.c.d/n` or `x::/n` with a prefix in range; undefined otherwise. */
export function parseCidr(
  cidr: string,
): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  if (!match) return undefined;
  const version = isIP(match[1]!);
  const prefix = Number(match[2]);
  if (version === 0 || prefix > (version === 4 ? 32 : 128)) return undefined;
  return { address: match[1]!, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** Whether the range touches link-local addresses (the cloud metadata service is one). */
export function coversLinkLocal(cidr: string): boolean {
  const parsed = parseCidr(cidr);
  if (parsed?.family !== 'ipv4') return false;
  const range = new BlockList();
  range.addSubnet(parsed.address, parsed.prefix, 'ipv4');
  const linkLocal = new BlockList();
  linkLocal.addSubnet('169.254.0.0', 16, 'ipv4');
  return range.check(METADATA_V4, 'ipv4') || linkLocal.check(parsed.address, 'ipv4');
}

const LabelMap = z
  .record(
    z
      .string()
      .max(317)
      .regex(/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/),
    z.string().max(63),
  )
  .meta({ maxProperties: 16 });

export const EgressPeer = withRules(
  z.object({
    cidr: z.string().max(64).optional().meta({ description: 'An IPv4 or IPv6 range, e.g. 10.20.0.0/16.' }),
    except: z
      .array(z.string().max(64))
      .max(16)
      .optional()
      .meta({ description: 'Ranges inside cidr that stay closed.' }),
    podSelector: LabelMap.optional().meta({
      description: 'Pods with these labels (matchLabels), in namespace or the function’s own.',
    }),
    namespace: z
      .string()
      .max(63)
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
      .optional()
      .meta({ description: 'The namespace of podSelector; default: the function’s namespace.' }),
  }),
  [
    {
      rule: 'has(self.cidr) != has(self.podSelector)',
      message: 'set exactly one of cidr or podSelector',
      check: (p) => (p.cidr !== undefined) !== (p.podSelector !== undefined),
    },
    {
      rule: '!has(self.except) || has(self.cidr)',
      message: 'except needs cidr',
      check: (p) => p.except === undefined || p.cidr !== undefined,
    },
    {
      rule: '!has(self.namespace) || has(self.podSelector)',
      message: 'namespace needs podSelector',
      check: (p) => p.namespace === undefined || p.podSelector !== undefined,
    },
    {
      rule: '!has(self.cidr) || isCIDR(self.cidr)',
      message: 'cidr must be an IP range such as 10.20.0.0/16',
      check: (p) => p.cidr === undefined || parseCidr(p.cidr) !== undefined,
      field: 'cidr',
    },
    {
      rule: '!has(self.except) || self.except.all(e, isCIDR(e))',
      message: 'except must list IP ranges such as 10.20.1.0/24',
      check: (p) => (p.except ?? []).every((e) => parseCidr(e) !== undefined),
      field: 'except',
    },
    {
      // A function must not be opened to the node's or the cloud's metadata service.
      rule: `!has(self.cidr) || !isCIDR(self.cidr) || cidr(self.cidr).ip().family() != 4 || (!cidr(self.cidr).containsIP("${METADATA_V4}") && !cidr("${LINK_LOCAL_V4}").containsCIDR(self.cidr))`,
      message: `cidr must not include link-local addresses (${LINK_LOCAL_V4}, the cloud metadata service ${METADATA_V4})`,
      check: (p) => p.cidr === undefined || !coversLinkLocal(p.cidr),
      field: 'cidr',
    },
  ],
);
export type EgressPeer = z.infer<typeof EgressPeer>;

export const EgressPort = withRules(
  z.object({
    protocol: z.enum(['TCP', 'UDP', 'SCTP']).default('TCP'),
    port: z.int().min(1).max(65535),
    endPort: z
      .int()
      .min(1)
      .max(65535)
      .optional()
      .meta({ description: 'The last port of a range from port.' }),
  }),
  [
    {
      rule: '!has(self.endPort) || self.endPort >= self.port',
      message: 'endPort must not be below port',
      check: (p) => p.endPort === undefined || p.endPort >= p.port,
      field: 'endPort',
    },
  ],
);
export type EgressPort = z.infer<typeof EgressPort>;

export const EgressRule = z.object({
  to: z.array(EgressPeer).min(1).max(16),
  ports: z
    .array(EgressPort)
    .max(16)
    .optional()
    .meta({ description: 'The ports these peers may be reached on; none: every port.' }),
});
export type EgressRule = z.infer<typeof EgressRule>;

export const FunctionNetwork = z
  .object({
    egress: z.array(EgressRule).max(16).meta({
      description:
        'More destinations the function may connect to (a database, another namespace’s service): one NetworkPolicy per function, on top of the namespace’s.',
    }),
  })
  .meta({ description: 'Network access of the execution environments (Lambda’s VpcConfig).' });
export type FunctionNetwork = z.infer<typeof FunctionNetwork>;
