// The gateway: the Invoke API and function URLs in front of execution environments, with
// asynchronous invocation. The entry point assembles these parts.
export * from './async/config.js';
export * from './async/gatewayQueue.js';
export * from './async/runtime.js';
export * from './auth/lambdaAuth.js';
export * from './config.js';
export * from './environments/agentClient.js';
export * from './gateway.js';
export * from './kubernetes/kubernetesCatalog.js';
export * from './kubernetes/kubernetesProvider.js';
export * from './kubernetes/provisionedStatusWriter.js';
export * from './pool/pooledProvider.js';
export * from './pool/warmPool.js';
