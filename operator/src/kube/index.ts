// Kubernetes plumbing every program shares: clients and informers, events, leases, owner
// references, API errors, and authentication/authorisation of callers (TokenReview +
// SubjectAccessReview) for the gateway's and the store's HTTP APIs.
export * from './auth/access-review.js';
export * from './auth/authorizer.js';
export * from './auth/caller-namespace.js';
export * from './auth/credentials.js';
export * from './auth/kubernetes-reviewer.js';
export * from './auth/verified-callers.js';
export * from './config.js';
export * from './custom-objects.js';
export * from './errors.js';
export * from './events.js';
export * from './informer.js';
export * from './lease.js';
export * from './owner.js';
