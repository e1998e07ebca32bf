// An in-memory AccessReviewer: tokens name users, rules grant "<user> <verb> <ns>/<name>".
import type {
  AccessReviewer,
  ResourceAttributes,
  UserInfo,
} from '../../../operator/src/kube/auth/access-review.js';

export class FakeReviewer implements AccessReviewer {
  readonly tokens = new Map<string, string>();
  readonly rules = new Set<string>();
  authentications = 0;
  authorizations = 0;
  /** When set, every call waits for it (to hold reviews in flight). */
  gate: Promise<void> | undefined;
  failWith: Error | undefined;

  static rule(user: string, a: ResourceAttributes): string {
    return `${user} ${a.verb} ${a.group}/${a.resource} ${a.namespace ?? ''}/${a.name ?? ''}`;
  }

  async authenticate(token: string): Promise<UserInfo | undefined> {
    this.authentications += 1;
    await this.gate;
    if (this.failWith) throw this.failWith;
    const username = this.tokens.get(token);
    return username ? { username, groups: ['system:authenticated'] } : undefined;
  }

  async authorize(user: UserInfo, attributes: ResourceAttributes) {
    this.authorizations += 1;
    await this.gate;
    if (this.failWith) throw this.failWith;
    const allowed = this.rules.has(FakeReviewer.rule(user.username, attributes));
    return allowed ? { allowed } : { allowed, reason: 'no rule' };
  }
}
